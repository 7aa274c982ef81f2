//! The limits of one request, and the charts' plan: the window the charts cover and the span
//! that keeps each chart to at most [`MAX_POINTS`] points, decided before any question is asked.
//!
//! A span that would give more points than that is coarsened to the next coarser span that fits
//! (hour, day, week, month, year), and the plan says so in a note the page, the JSON and the CSV
//! routes all share; a window not even the coarsest span fits is refused ([`TooLong`], a 400).

use std::fmt;
use std::num::NonZeroU32;

use spoor::{Span, Window};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::chart::{Partial, group};
use crate::params::{Period, SpanChoice, View};

/// The most points (time buckets) a chart asks for.
pub(crate) const MAX_POINTS: u64 = 1_000;
/// The most rows a table lists (applications, events, properties), on the page, in CSV and in
/// JSON: the largest (or, for properties, the first by name) are kept.
pub(crate) const MAX_ROWS: usize = 1_000;
/// The most values of a property `top` may ask for.
pub(crate) const MAX_TOP: u32 = 1_000;
/// The most applications of the list drawn with a trend (the largest).
pub(crate) const MAX_TRENDS: usize = 50;

/// A chart's span, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Step {
    /// An hour.
    Hour,
    /// A day (from midnight UTC).
    Day,
    /// A week (from Sunday).
    Week,
    /// A calendar month.
    Month,
    /// A calendar year (twelve months from January).
    Year,
}

impl Step {
    /// Every step, finest first.
    pub(crate) const ALL: [Self; 5] = [Self::Hour, Self::Day, Self::Week, Self::Month, Self::Year];

    /// The step's key, as URLs write it.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    /// The step of a key.
    pub(crate) fn of_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// The span asked of the backend.
    pub(crate) fn span(self) -> Span {
        match self {
            Self::Hour => Span::HOUR,
            Self::Day => Span::DAY,
            Self::Week => Span::WEEK,
            Self::Month => Span::MONTH,
            Self::Year => Span::new(months(12), Span::MONTH.unit),
        }
    }

    /// How many buckets of this step cover `[start, end)` (UTC; none when `end` is not after
    /// `start`), as spoor's engine counts them: from the bucket of `start` to that of the last
    /// instant before `end`. Days start at midnight UTC, weeks on Sunday, months on the 1st,
    /// years in January. Saturates rather than overflows.
    pub(crate) fn points(self, start: OffsetDateTime, end: OffsetDateTime) -> u64 {
        if end <= start {
            return 0;
        }
        let last = end - Duration::NANOSECOND;
        let (first, last) = (self.index(start), self.index(last));
        u64::try_from(last.saturating_sub(first).saturating_add(1)).unwrap_or(u64::MAX)
    }

    /// Whether a bucket starts at `t` (the instant before it lies in another bucket).
    pub(crate) fn starts_at(self, t: OffsetDateTime) -> bool {
        t.checked_sub(Duration::NANOSECOND)
            .is_none_or(|before| self.index(before) != self.index(t))
    }

    /// The number of the bucket holding `t`, counted from 1970.
    fn index(self, t: OffsetDateTime) -> i128 {
        const HOUR: i128 = 3_600_000_000_000;
        const DAY: i128 = 24 * HOUR;
        // Sunday 1969-12-28, where week buckets are counted from.
        const WEEK_ORIGIN: i128 = -4 * DAY;
        let t = t.to_offset(UtcOffset::UTC);
        let nanos = t.unix_timestamp_nanos();
        let month = i128::from(t.year()) * 12 + i128::from(u8::from(t.month())) - 1;
        match self {
            Self::Hour => nanos.div_euclid(HOUR),
            Self::Day => nanos.div_euclid(DAY),
            Self::Week => (nanos - WEEK_ORIGIN).div_euclid(7 * DAY),
            Self::Month => month,
            Self::Year => i128::from(t.year()),
        }
    }
}

/// `n` as a span count (`n` is a positive constant).
fn months(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// A window so long that even its coarsest chart would have more than [`MAX_POINTS`] points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooLong {
    /// The window, as people read it.
    pub(crate) window: String,
    /// Its points by the coarsest span.
    pub(crate) points: u64,
    /// Whether it is a custom window (else all time, from its events).
    pub(crate) custom: bool,
}

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the window {} would need {} points a chart even by year, more than the {} a chart shows: ",
            self.window,
            group(u128::from(self.points)),
            group(u128::from(MAX_POINTS)),
        )?;
        if self.custom {
            write!(
                f,
                "choose the parameters `from` and `to` at most {} years apart",
                group(u128::from(MAX_POINTS))
            )
        } else {
            f.write_str("choose a custom window (the parameters `from` and `to`)")
        }
    }
}

/// Which end buckets of `step` the window `[start, end)` covers only in part, as of `now`. Over
/// all time (`all_time`), the window is the span of the events: its first bucket holds the
/// first event and is complete; its last is incomplete while it holds `now`.
pub(crate) fn partial(
    step: Step,
    (start, end): (OffsetDateTime, OffsetDateTime),
    all_time: bool,
    now: OffsetDateTime,
) -> Partial {
    if end <= start {
        return Partial::default();
    }
    if all_time {
        let last = end - Duration::NANOSECOND;
        return Partial {
            first: false,
            last: step.index(last) == step.index(now) && !step.starts_at(now),
        };
    }
    Partial {
        first: !step.starts_at(start),
        last: !step.starts_at(end),
    }
}

/// What the charts of a page ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The span used.
    pub(crate) step: Step,
    /// The window the charts cover: the page's, or for all time the days with events.
    pub(crate) window: Window,
    /// Why the span is not the one chosen, said on the page and in the JSON.
    pub(crate) note: Option<String>,
    /// The end buckets the window covers in part (set once the window's instants are known).
    pub(crate) partial: Partial,
}

impl Plan {
    /// The span asked of the backend.
    pub(crate) fn span(&self) -> Span {
        self.step.span()
    }
}

/// The instants a view's window covers, as of `now`; `None` for all time (known only from its
/// events).
pub(crate) fn bounds(view: &View, now: OffsetDateTime) -> Option<(OffsetDateTime, OffsetDateTime)> {
    view.window().instants(now)
}

/// The span a view prefers: as chosen, or for `auto` one that reads well over its window.
pub(crate) fn preferred(view: &View) -> Step {
    if let SpanChoice::Fixed(step) = view.span {
        return step;
    }
    match view.period {
        Period::Last24Hours => Step::Hour,
        Period::AllTime => Step::Week,
        Period::Custom { from, to } => match (to - from).whole_days() {
            ..=2 => Step::Hour,
            3..=120 => Step::Day,
            121..=730 => Step::Week,
            731..=36_500 => Step::Month,
            _ => Step::Year,
        },
        Period::Last7Days | Period::Last30Days | Period::Last90Days => Step::Day,
    }
}

/// The charts' plan for `view` over `covered` (the window's instants; `None`: all time with no
/// events, charted as is).
///
/// # Errors
///
/// [`TooLong`] when even by year the window has more than [`MAX_POINTS`] points.
pub(crate) fn plan(
    view: &View,
    covered: Option<(OffsetDateTime, OffsetDateTime)>,
) -> Result<Plan, TooLong> {
    let wanted = preferred(view);
    let Some((start, end)) = covered else {
        return Ok(Plan {
            step: wanted,
            window: view.window(),
            note: None,
            partial: Partial::default(),
        });
    };
    let window = match view.window() {
        Window::AllTime => Window::between(start, end).unwrap_or(Window::AllTime),
        window => window,
    };
    let fits = Step::ALL
        .into_iter()
        .filter(|s| *s >= wanted)
        .find(|s| s.points(start, end) <= MAX_POINTS);
    let Some(step) = fits else {
        return Err(TooLong {
            window: view.period.label(),
            points: Step::Year.points(start, end),
            custom: view.period.is_custom(),
        });
    };
    // A chosen span is named when it had to give way; `auto` chose none.
    let note = (step != wanted && view.span != SpanChoice::Auto).then(|| {
        format!(
            "Shown by {}: by {} would be {} points, more than {}.",
            step.key(),
            wanted.key(),
            group(u128::from(wanted.points(start, end))),
            group(u128::from(MAX_POINTS)),
        )
    });
    Ok(Plan {
        step,
        window,
        note,
        partial: Partial::default(),
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn view(query: &str) -> View {
        View::parse(query).unwrap()
    }

    fn plan_of(query: &str) -> Result<Plan, TooLong> {
        let v = view(query);
        plan(&v, bounds(&v, datetime!(2026-11-28 15:30 UTC)))
    }

    #[test]
    fn points_are_counted_as_the_engine_buckets() {
        let (a, b) = (
            datetime!(2026-11-02 0:00 UTC),
            datetime!(2026-11-05 0:00 UTC),
        );
        assert_eq!(Step::Hour.points(a, b), 72);
        assert_eq!(Step::Day.points(a, b), 3);
        // 2026-11-02 is a Monday: its week started on Sunday the 1st; the 4th is in it too.
        assert_eq!(Step::Week.points(a, b), 1);
        assert_eq!(Step::Month.points(a, b), 1);
        assert_eq!(Step::Year.points(a, b), 1);
        assert_eq!(Step::Day.points(b, a), 0, "an empty window has no points");
        assert_eq!(Step::Day.points(a, a), 0);
        // A partial bucket at either end counts.
        assert_eq!(
            Step::Hour.points(
                datetime!(2026-11-02 0:30 UTC),
                datetime!(2026-11-02 1:30 UTC)
            ),
            2
        );
        // Weeks from Sunday: Saturday the 7th and Sunday the 8th are two weeks.
        assert_eq!(
            Step::Week.points(
                datetime!(2026-11-07 0:00 UTC),
                datetime!(2026-11-09 0:00 UTC)
            ),
            2
        );
        // The widest window the dashboard takes, without overflow.
        let (first, last) = (
            datetime!(0001-01-01 0:00 UTC),
            datetime!(9999-12-31 0:00 UTC),
        );
        assert_eq!(Step::Year.points(first, last), 9_999);
        assert_eq!(Step::Month.points(first, last), 119_988);
        assert_eq!(Step::Hour.points(first, last), 87_649_392);
    }

    #[test]
    fn a_span_that_fits_is_kept() {
        let p = plan_of("from=2026-11-02&to=2026-11-04&span=hour").unwrap();
        assert_eq!((p.step, p.note), (Step::Hour, None));
        assert!(matches!(p.window, Window::Between { .. }));
        let p = plan_of("window=30d&span=hour").unwrap();
        assert_eq!(p.step, Step::Hour, "31 days by hour is 744 points");
        assert_eq!(plan_of("window=24h").unwrap().step, Step::Hour);
        assert_eq!(plan_of("window=90d").unwrap().step, Step::Day);
    }

    #[test]
    fn a_span_too_fine_is_coarsened_and_says_so() {
        let p = plan_of("window=90d&span=hour").unwrap();
        assert_eq!(p.step, Step::Day);
        assert_eq!(
            p.note.as_deref(),
            Some("Shown by day: by hour would be 2,176 points, more than 1,000.")
        );
        let p = plan_of("from=2000-01-01&to=2026-12-01&span=hour").unwrap();
        assert_eq!(p.step, Step::Month);
        assert_eq!(
            p.note.as_deref(),
            Some("Shown by month: by hour would be 235,968 points, more than 1,000.")
        );
        let p = plan_of("from=2016-01-01&to=2025-12-31&span=day").unwrap();
        assert_eq!(
            p.note.as_deref(),
            Some("Shown by week: by day would be 3,653 points, more than 1,000.")
        );
        // `auto` picks what fits without a note.
        let p = plan_of("from=1900-01-01&to=2026-12-31").unwrap();
        assert_eq!((p.step, p.note), (Step::Year, None));
    }

    #[test]
    fn a_window_no_span_fits_is_refused() {
        let err = plan_of("from=0001-01-01&to=9999-12-30&span=day").unwrap_err();
        assert_eq!(err.points, 9_999);
        assert_eq!(
            err.to_string(),
            "the window 0001-01-01 to 9999-12-30 would need 9,999 points a chart even by year, \
             more than the 1,000 a chart shows: choose the parameters `from` and `to` at most \
             1,000 years apart"
        );
        assert!(plan_of("from=1000-01-01&to=1999-12-31&span=year").is_ok());
        assert!(plan_of("from=1000-01-01&to=2000-01-01&span=year").is_err());
    }

    #[test]
    fn all_time_is_planned_over_its_events() {
        let v = view("window=all&span=hour");
        let p = plan(&v, None).unwrap();
        assert_eq!(
            (p.step, p.window, p.note),
            (Step::Hour, Window::AllTime, None)
        );
        let covered = (
            datetime!(1971-01-01 0:00 UTC),
            datetime!(2026-11-29 0:00 UTC),
        );
        let p = plan(&v, Some(covered)).unwrap();
        assert_eq!(p.step, Step::Month);
        assert_eq!(
            p.window,
            Window::Between {
                earliest: covered.0,
                latest: covered.1
            }
        );
        let far = (
            datetime!(0001-01-01 0:00 UTC),
            datetime!(2026-11-29 0:00 UTC),
        );
        let err = plan(&v, Some(far)).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("choose a custom window (the parameters `from` and `to`)"),
            "{err}"
        );
    }

    #[test]
    fn end_buckets_the_window_covers_in_part_are_marked() {
        let now = datetime!(2026-12-06 14:30 UTC);
        // Last 7 days, by day: from midnight (complete) to now (the day still filling).
        let days = (datetime!(2026-11-29 0:00 UTC), now);
        let p = partial(Step::Day, days, false, now);
        assert_eq!((p.first, p.last), (false, true));
        // By week, that midnight is a Sunday: the week starts there.
        assert!(!partial(Step::Week, days, false, now).first);
        // Last 24 hours by hour: both ends inside an hour.
        let hours = (now - Duration::DAY, now);
        let p = partial(Step::Hour, hours, false, now);
        assert_eq!((p.first, p.last), (true, true));
        // A custom window of whole days: complete by day, not by month.
        let custom = (
            datetime!(2026-11-03 0:00 UTC),
            datetime!(2026-11-10 0:00 UTC),
        );
        assert_eq!(partial(Step::Day, custom, false, now), Partial::default());
        let p = partial(Step::Month, custom, false, now);
        assert_eq!((p.first, p.last), (true, true));
        // All time: the first bucket holds the first event; the last is filling while it holds now.
        let extent = (
            datetime!(2026-01-05 0:00 UTC),
            datetime!(2026-12-07 0:00 UTC),
        );
        let p = partial(Step::Month, extent, true, now);
        assert_eq!((p.first, p.last), (false, true));
        let old = (
            datetime!(2020-01-05 0:00 UTC),
            datetime!(2020-03-07 0:00 UTC),
        );
        assert_eq!(partial(Step::Month, old, true, now), Partial::default());
    }

    #[test]
    fn preset_bounds_end_now_and_start_at_midnight() {
        let now = datetime!(2026-11-28 15:30 UTC);
        assert_eq!(
            bounds(&view("window=7d"), now),
            Some((datetime!(2026-11-21 0:00 UTC), now))
        );
        assert_eq!(
            bounds(&view("window=24h"), now),
            Some((datetime!(2026-11-27 15:30 UTC), now))
        );
        assert_eq!(bounds(&view("window=all"), now), None);
    }
}
