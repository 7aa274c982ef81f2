//! `timechart`: rows counted (or otherwise aggregated) per time bucket, per series.
//!
//! Bucket arithmetic is on integers (microseconds, and months counted from January 1970 by the
//! proleptic Gregorian calendar), so no span or window can overflow it or loop it. A chart's
//! buckets are counted and placed before any is made: at most [`MAX_BUCKETS`], from 0000-01-01
//! to the end of 9999; and a split chart holds at most [`MAX_CHART_CELLS`] values.

use spoor_spl::ast::{Span, SpanUnit, Timechart};
use spoor_spl::build::OTHER;

use crate::hash::FxHashMap;

use crate::search::aggregate::{Acc, Bound, Update, bind, numbers_of};
use crate::search::frame::{Col, Frame};
use crate::search::halves::in_halves;
use crate::search::text::{format_number, format_time};
use crate::search::{MAX_BUCKETS, MAX_CHART_CELLS, SearchError};

const SECOND: i64 = 1_000_000;
const DAY: i64 = 86_400 * SECOND;
/// Sunday 1969-12-28 00:00 UTC, where week buckets are counted from.
const WEEK_ORIGIN: i64 = -4 * DAY;
/// 0000-01-01T00:00:00Z (µs): no bucket starts before it.
const RANGE_START: i64 = -62_167_219_200 * SECOND;
/// 10000-01-01T00:00:00Z (µs), the end of the year 9999: no bucket ends after it.
const RANGE_END: i64 = 253_402_300_800 * SECOND;

/// Bucket arithmetic for one span.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Buckets {
    span: Span,
}

impl Buckets {
    /// The buckets of a chart's span; a span longer than the range of times (a tree the parser
    /// would not have made) has none.
    pub(crate) fn of(chart: &Timechart) -> Result<Self, SearchError> {
        Self::new(chart.span)
    }

    /// The buckets of `span`, as [`of`](Self::of) (also `bin`'s time bins).
    pub(crate) fn new(span: Span) -> Result<Self, SearchError> {
        if span.is_within_range() {
            Ok(Self { span })
        } else {
            Err(SearchError::SpanOutOfRange { span })
        }
    }

    /// The span.
    pub(crate) fn span(self) -> Span {
        self.span
    }

    fn count(self) -> i64 {
        i64::from(self.span.count.get())
    }

    /// The length of a bucket of fixed length, in µs (at most 10,000 years: no overflow); `None`
    /// for months.
    fn width(self) -> Option<i64> {
        let unit = match self.span.unit {
            SpanUnit::Second => SECOND,
            SpanUnit::Minute => 60 * SECOND,
            SpanUnit::Hour => 3_600 * SECOND,
            SpanUnit::Day => DAY,
            SpanUnit::Week => 7 * DAY,
            SpanUnit::Month => return None,
        };
        Some(self.count() * unit)
    }

    /// Whether buckets are a day long or more (and so have a `_spandays`).
    pub(crate) fn in_days(self) -> bool {
        self.width().is_none_or(|width| width >= DAY)
    }

    fn origin(self) -> i64 {
        if self.span.unit == SpanUnit::Week {
            WEEK_ORIGIN
        } else {
            0
        }
    }

    /// The number of the bucket holding the instant `t` (µs), counted from the origin.
    fn number(self, t: i64) -> i128 {
        match self.width() {
            Some(width) => {
                (i128::from(t) - i128::from(self.origin())).div_euclid(i128::from(width))
            }
            None => i128::from(month_index(t)).div_euclid(i128::from(self.count())),
        }
    }

    /// The start of bucket `number` (µs); for any number [`number`](Self::number) gives, and the
    /// one after, well within `i128`.
    fn edge(self, number: i128) -> i128 {
        match self.width() {
            Some(width) => i128::from(self.origin()) + number * i128::from(width),
            None => month_start(number * i128::from(self.count())),
        }
    }

    /// The start of the bucket holding the instant `t` (µs), as a chart places it (`bin`'s
    /// time bins); `None` when that bucket reaches outside the years 0000 to 9999.
    pub(crate) fn start(self, t: i64) -> Option<i64> {
        let number = self.number(t);
        let (start, end) = (self.edge(number), self.edge(number + 1));
        (start >= i128::from(RANGE_START) && end <= i128::from(RANGE_END))
            .then(|| i64::try_from(start).ok())
            .flatten()
    }

    /// The numbers of the first and last buckets over the instants `first..=last` (µs), `None`
    /// when there are none; checked before any bucket is made: at most [`MAX_BUCKETS`], within
    /// the years 0000 to 9999.
    fn plan(self, first: i64, last: i64) -> Result<Option<(i128, i128)>, SearchError> {
        let (a, b) = (self.number(first), self.number(last));
        if a > b {
            return Ok(None);
        }
        if b - a + 1 > i128::from(MAX_BUCKETS) {
            return Err(SearchError::TooManyBuckets);
        }
        if self.edge(a) < i128::from(RANGE_START) || self.edge(b + 1) > i128::from(RANGE_END) {
            return Err(SearchError::SpanOutOfRange { span: self.span });
        }
        Ok(Some((a, b)))
    }

    /// The first and last instants charted over `window` (µs, `None`: open): from `earliest` to
    /// the last instant before `latest`; an open bound is the first (or last) time of the rows,
    /// `rows_span` (`None`: no rows).
    fn instants(
        window: (Option<i64>, Option<i64>),
        rows_span: impl FnOnce() -> Option<(i64, i64)>,
    ) -> Option<(i64, i64)> {
        let last = |latest: i64| latest.saturating_sub(1);
        match window {
            (Some(earliest), Some(latest)) => Some((earliest, last(latest))),
            (earliest, latest) => {
                let span = rows_span();
                Some((
                    earliest.or(span.map(|s| s.0))?,
                    latest.map(last).or(span.map(|s| s.1))?,
                ))
            }
        }
    }

    /// Checks what can be known of the buckets before the rows: with both ends of `window`
    /// (µs), their number and their range.
    pub(crate) fn check(self, window: (Option<i64>, Option<i64>)) -> Result<(), SearchError> {
        if let Some((first, last)) = Self::instants(window, || None) {
            self.plan(first, last)?;
        }
        Ok(())
    }

    /// The edges of the buckets charted over `window` (see [`instants`](Self::instants)): the
    /// start of each bucket and the end of the last, increasing; none when there is no bucket.
    /// Their number and range are checked before any is made.
    pub(crate) fn edges(
        self,
        window: (Option<i64>, Option<i64>),
        rows_span: impl FnOnce() -> Option<(i64, i64)>,
    ) -> Result<Vec<i64>, SearchError> {
        let Some((first, last)) = Self::instants(window, rows_span) else {
            return Ok(Vec::new());
        };
        let Some((a, b)) = self.plan(first, last)? else {
            return Ok(Vec::new());
        };
        // Within the range (just checked), every edge fits.
        Ok((a..=b + 1)
            .map(|n| i64::try_from(self.edge(n)).unwrap_or(i64::MAX))
            .collect())
    }
}

/// Days from 1970-01-01 to the 1st of `month` (1 to 12) of `year`, in the proleptic Gregorian
/// calendar: years are counted in 400-year cycles of 146,097 days, each starting on 1 March so
/// that the leap day ends its year.
fn days_from_civil(year: i128, month: i128) -> i128 {
    let year = if month <= 2 { year - 1 } else { year };
    let cycle = year.div_euclid(400);
    let year_of_cycle = year - cycle * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5;
    let day_of_cycle = year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;
    // 719,468 days from 0000-03-01 to 1970-01-01.
    cycle * 146_097 + day_of_cycle - 719_468
}

/// The year and month (1 to 12) of the day `days` after 1970-01-01, as [`days_from_civil`]
/// counts them.
fn civil_from_days(days: i64) -> (i64, i64) {
    let days = days + 719_468;
    let cycle = days.div_euclid(146_097);
    let day_of_cycle = days - cycle * 146_097;
    let year_of_cycle = (day_of_cycle - day_of_cycle / 1_460 + day_of_cycle / 36_524
        - day_of_cycle / 146_096)
        / 365;
    let day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_cycle + cycle * 400 + i64::from(month <= 2);
    (year, month)
}

/// Months since January 1970 of the instant `t` (µs).
fn month_index(t: i64) -> i64 {
    let (year, month) = civil_from_days(t.div_euclid(DAY));
    (year - 1970) * 12 + month - 1
}

/// The instant (µs) of 00:00 UTC on the 1st of the month `index` months after January 1970.
fn month_start(index: i128) -> i128 {
    let days = days_from_civil(1970 + index.div_euclid(12), index.rem_euclid(12) + 1);
    days * i128::from(DAY)
}

/// Checks that a chart of `buckets` buckets may hold one more series, the `series`-th.
pub(crate) fn admit(span: Span, buckets: usize, series: usize) -> Result<(), SearchError> {
    let cells = (buckets as u64).saturating_mul(series as u64);
    if cells > MAX_CHART_CELLS {
        return Err(SearchError::TooManyCells {
            span,
            buckets,
            series,
        });
    }
    Ok(())
}

/// One series: its name and the accumulators of each bucket.
struct Series {
    name: String,
    accs: Vec<Acc>,
}

/// The one aggregation of a chart, bound to the columns of `frame`.
pub(crate) fn bind_one<'f, 'a>(
    frame: &'f Frame<'a>,
    chart: &Timechart,
) -> Result<Bound<'f, 'a>, SearchError> {
    let bound = bind(frame, None, &chart.aggregation);
    let [bound] = <[Bound<'_, 'a>; 1]>::try_from(bound).map_err(|_| {
        SearchError::Unsupported(format!(
            "timechart needs one field to aggregate, and {} names several or none",
            chart.aggregation.aggregate
        ))
    })?;
    Ok(bound)
}

/// One chart's rows of some part: each series' by code (`0`: NULL) and each bucket's state.
pub(crate) type Part = Vec<(u32, Vec<Acc>)>;

pub(super) fn apply<'a>(frame: Frame<'a>, chart: &Timechart) -> Result<Frame<'a>, SearchError> {
    let buckets = Buckets::of(chart)?;
    let bound = bind_one(&frame, chart)?;
    let numbers = numbers_of(&bound);
    let empty = Vec::new();
    let times = frame.times.as_ref().unwrap_or(&empty);

    // The buckets: the window's, or the rows' where the window is open.
    let edges = buckets.edges(frame.window, || {
        Some((*times.iter().min()?, *times.iter().max()?))
    })?;
    let n = edges.len().saturating_sub(1);
    // A row's bucket: arithmetic for fixed widths, a search over the edges for months.
    let width = buckets.width();
    let slot = |t: i64| -> Option<usize> {
        let (&first, &end) = (edges.first()?, edges.last()?);
        if t < first || t >= end {
            return None;
        }
        // Every bucket but a month is `width` long and aligned with the first.
        Some(match width {
            Some(width) => ((t - first) / width) as usize,
            None => edges.partition_point(|&s| s <= t) - 1,
        })
    };

    let use_null = chart.use_null.unwrap_or(true);
    let by = chart.by.as_ref().map(|f| frame.col(f.as_str()));

    // One pass (in halves on two threads for many rows): each row into its series (the by
    // column's code; 0 is NULL) and bucket.
    let by_col = by.flatten();
    let table_len = by_col.map_or(1, |c| c.dict.len() + 1);
    // The rows of a half into their series' buckets.
    let update = Update::of(&bound, &numbers);
    let chart_rows = |half: std::ops::Range<usize>| -> Result<Part, SearchError> {
        let mut index_of: Vec<u32> = vec![u32::MAX; table_len];
        let mut series: Part = Vec::new();
        for row in half {
            let code = by_col.map_or(0, |c| c.codes[row]);
            if by.is_some() && code == 0 && !use_null {
                continue;
            }
            let Some(b) = slot(times[row]) else { continue };
            let mut s = index_of[code as usize];
            if s == u32::MAX {
                admit(buckets.span(), n, series.len() + 1)?;
                s = series.len() as u32;
                index_of[code as usize] = s;
                series.push((code, vec![Acc::default(); n]));
            }
            update.apply(&mut series[s as usize].1[b], row);
        }
        Ok(series)
    };
    let parts = in_halves(times.len(), chart_rows)
        .into_iter()
        .collect::<Result<Vec<Part>, SearchError>>()?;
    output(chart, &bound, by_col, buckets, &edges, parts, frame.window)
}

/// The chart's rows: the buckets' `edges` (each start and the end of the last), and the series
/// of `parts` (merged by code) named by the by column `by_col` (`None` when the chart has no by
/// field, or no row has it).
pub(crate) fn output<'a>(
    chart: &Timechart,
    bound: &Bound<'_, 'a>,
    by_col: Option<&Col<'a>>,
    buckets: Buckets,
    edges: &[i64],
    parts: Vec<Part>,
    window: (Option<i64>, Option<i64>),
) -> Result<Frame<'a>, SearchError> {
    let starts = &edges[..edges.len().saturating_sub(1)];
    let use_other = chart.use_other.unwrap_or(true);
    let mut series: FxHashMap<u32, Series> = FxHashMap::default();
    for part in parts {
        for (code, accs) in part {
            match series.get_mut(&code) {
                Some(existing) => {
                    for (into, from) in existing.accs.iter_mut().zip(&accs) {
                        into.merge(from, bound);
                    }
                }
                None => {
                    // Each part kept within the cap; together they may not be.
                    admit(buckets.span(), starts.len(), series.len() + 1)?;
                    let name = match (by_col, code) {
                        (Some(col), c) if c != 0 => col.dict.get(c).to_owned(),
                        _ => "NULL".to_owned(),
                    };
                    series.insert(code, Series { name, accs });
                }
            }
        }
    }

    let mut out = Frame {
        len: starts.len(),
        times: None,
        window,
        cols: vec![Col::from_values(
            "_time",
            starts.iter().map(|s| Some(format_time(*s))),
        )],
    };
    // An empty bucket's `count` and `dc` are 0, other aggregates have no value: as `Acc` gives.
    let column = |name: &str, accs: &[Acc]| {
        Col::from_values(name.to_owned(), accs.iter().map(|a| a.value(bound)))
    };

    if chart.by.is_none() {
        let accs = series
            .remove(&0)
            .map_or_else(|| vec![Acc::default(); starts.len()], |s| s.accs);
        out.cols.push(column(&bound.name, &accs));
    } else {
        let null = series.remove(&0);
        let mut ranked: Vec<(f64, u32, Series)> = series
            .into_iter()
            .map(|(code, s)| {
                let total: f64 = s
                    .accs
                    .iter()
                    .filter_map(|a| a.value(bound))
                    .filter_map(|v| v.parse::<f64>().ok())
                    // From +0: an empty `sum()` is -0, which would rank below a total of 0.
                    .fold(0.0, |total, x| total + x);
                (total, code, s)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.2.name.cmp(&b.2.name)));
        let limit = match chart.limit.unwrap_or(10) {
            0 => usize::MAX,
            n => n as usize,
        };
        let cut: Vec<(f64, u32, Series)> = ranked.split_off(limit.min(ranked.len()));
        let mut kept: Vec<Series> = ranked.into_iter().map(|(_, _, s)| s).collect();
        kept.sort_by(|a, b| a.name.cmp(&b.name));
        for s in &kept {
            out.cols.push(column(&s.name, &s.accs));
        }
        if let Some(null) = null {
            out.cols.push(column("NULL", &null.accs));
        }
        if use_other && !cut.is_empty() {
            // OTHER is the aggregation over the rows of the cut series: their states merged.
            let mut other = vec![Acc::default(); starts.len()];
            for (_, _, cut_series) in &cut {
                for (into, from) in other.iter_mut().zip(&cut_series.accs) {
                    into.merge(from, bound);
                }
            }
            out.cols.push(column(OTHER, &other));
        }
    }

    let spans: Vec<i64> = edges
        .windows(2)
        .map(|edge| (edge[1] - edge[0]) / SECOND)
        .collect();
    out.cols.push(Col::from_values(
        "_span",
        spans.iter().map(|s| Some(s.to_string())),
    ));
    // Spans of a day or more (`24h` too) also give their length in days.
    if buckets.in_days() {
        out.cols.push(Col::from_values(
            "_spandays",
            spans
                .iter()
                .map(|s| Some(format_number(*s as f64 / 86_400.0))),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use proptest::prelude::*;
    use time::{Date, OffsetDateTime};

    use super::*;

    fn span(count: u32, unit: SpanUnit) -> Span {
        Span::new(NonZeroU32::new(count).expect("positive"), unit)
    }

    fn buckets(count: u32, unit: SpanUnit) -> Buckets {
        Buckets::new(span(count, unit)).expect("a span within range")
    }

    fn micros(t: OffsetDateTime) -> i64 {
        crate::store::time_micros(t)
    }

    /// The Julian day of 1970-01-01.
    const EPOCH_JULIAN_DAY: i64 = 2_440_588;

    #[test]
    fn the_range_ends_are_the_first_and_last_instants_of_0000_to_9999() {
        assert_eq!(
            RANGE_START,
            micros(time::macros::datetime!(0000-01-01 0:00 UTC))
        );
        assert_eq!(
            RANGE_END - 1,
            micros(time::macros::datetime!(9999-12-31 23:59:59.999999 UTC))
        );
        assert_eq!(month_start(-1970 * 12), i128::from(RANGE_START));
        assert_eq!(month_start((10_000 - 1970) * 12), i128::from(RANGE_END));
    }

    #[test]
    fn month_spans_count_months_from_1970() {
        let quarters = buckets(3, SpanUnit::Month);
        let t = micros(time::macros::datetime!(2026-11-28 12:00 UTC));
        let edges = quarters
            .edges((Some(t), Some(t + 1)), || None)
            .expect("one bucket");
        let expected = [
            time::macros::datetime!(2026-10-01 0:00 UTC),
            time::macros::datetime!(2027-01-01 0:00 UTC),
        ];
        assert_eq!(edges, expected.map(micros));
        // Before 1970 too.
        let t = micros(time::macros::datetime!(1969-12-31 23:59 UTC));
        let edges = buckets(1, SpanUnit::Month)
            .edges((Some(t), Some(t + 1)), || None)
            .expect("one bucket");
        let expected = [
            time::macros::datetime!(1969-12-01 0:00 UTC),
            time::macros::datetime!(1970-01-01 0:00 UTC),
        ];
        assert_eq!(edges, expected.map(micros));
    }

    #[test]
    fn refusals_name_the_bound() {
        let t = micros(time::macros::datetime!(2026-11-28 12:00 UTC));
        let year = (Some(t - 365 * DAY), Some(t));
        assert!(matches!(
            buckets(1, SpanUnit::Second).edges(year, || None),
            Err(SearchError::TooManyBuckets)
        ));
        assert!(buckets(1, SpanUnit::Second).check(year).is_err());
        // With an open end, only the rows decide.
        assert!(buckets(1, SpanUnit::Second).check((Some(0), None)).is_ok());
        assert!(
            buckets(1, SpanUnit::Second)
                .edges((Some(0), None), || Some((0, t)))
                .is_err()
        );
        for (count, unit) in [(100_000, SpanUnit::Month), (96_361, SpanUnit::Month)] {
            assert!(matches!(
                buckets(count, unit).edges(year, || None),
                Err(SearchError::SpanOutOfRange { .. })
            ));
        }
        let too_long = Buckets::new(span(120_001, SpanUnit::Month));
        assert!(matches!(too_long, Err(SearchError::SpanOutOfRange { .. })));
        // 96,360 months from 1970 end exactly at the end of 9999.
        let edges = buckets(96_360, SpanUnit::Month)
            .edges(year, || None)
            .expect("one bucket");
        assert_eq!(edges, [0, RANGE_END]);
    }

    fn unit() -> impl Strategy<Value = SpanUnit> {
        prop_oneof![
            Just(SpanUnit::Second),
            Just(SpanUnit::Minute),
            Just(SpanUnit::Hour),
            Just(SpanUnit::Day),
            Just(SpanUnit::Week),
            Just(SpanUnit::Month),
        ]
    }

    /// Any count, small ones and the largest most often.
    fn count() -> impl Strategy<Value = u32> {
        prop_oneof![
            1..=100u32,
            1..=200_000u32,
            any::<u32>().prop_map(|n| n.max(1))
        ]
    }

    /// An instant (µs): within the years 0000 to 9999, near its ends, or any at all.
    fn instant() -> impl Strategy<Value = i64> {
        prop_oneof![
            RANGE_START..RANGE_END,
            (RANGE_END - 100 * DAY)..RANGE_END,
            RANGE_START..(RANGE_START + 100 * DAY),
            -100 * DAY..100 * DAY,
            any::<i64>(),
        ]
    }

    /// A window: open or set ends, the latest usually not before the earliest.
    fn window() -> impl Strategy<Value = (Option<i64>, Option<i64>)> {
        (
            prop::option::weighted(0.8, instant()),
            prop::option::weighted(0.8, prop_oneof![instant(), 0..=1_000_000 * SECOND]),
            any::<bool>(),
        )
            .prop_map(|(earliest, latest, relative)| match (earliest, latest) {
                // A length after the earliest time.
                (Some(e), Some(length)) if relative => (Some(e), Some(e.saturating_add(length))),
                pair => pair,
            })
    }

    proptest! {
        #![proptest_config(spoor_testkit::proptest_config())]

        /// Any span over any window: no panic, no overflow, no loop; either an error or at most
        /// `MAX_BUCKETS` increasing, aligned buckets within the years 0000 to 9999 that cover
        /// the window; and the check before the rows agrees.
        #[test]
        fn bucket_edges_are_bounded_and_increasing(
            count in count(),
            unit in unit(),
            window in window(),
            rows in prop::option::of((instant(), instant())),
        ) {
            let span = span(count, unit);
            let Ok(buckets) = Buckets::new(span) else {
                prop_assert!(!span.is_within_range());
                return Ok(());
            };
            let rows = rows.map(|(a, b)| (a.min(b), a.max(b)));
            let edges = buckets.edges(window, || rows);
            if let (Some(_), Some(_)) = window {
                prop_assert_eq!(buckets.check(window).is_ok(), edges.is_ok());
            } else {
                prop_assert!(buckets.check(window).is_ok());
            }
            let Ok(edges) = edges else { return Ok(()) };
            let Some((first, last)) = Buckets::instants(window, || rows) else {
                prop_assert!(edges.is_empty());
                return Ok(());
            };
            if first > last {
                // An empty window may still lie in one bucket, never in more.
                prop_assert!(edges.len() <= 2);
            }
            if edges.is_empty() {
                return Ok(());
            }
            prop_assert!(edges.len() >= 2);
            prop_assert!((edges.len() - 1) as u64 <= MAX_BUCKETS);
            prop_assert!(edges.windows(2).all(|e| e[0] < e[1]), "increasing: {:?}", edges);
            prop_assert!(edges[0] >= RANGE_START && edges[edges.len() - 1] <= RANGE_END);
            prop_assert!(edges[0] <= first.min(last));
            prop_assert!(last.max(first) < edges[edges.len() - 1]);
            let numbers: Vec<i128> = edges.iter().map(|&e| buckets.number(e)).collect();
            prop_assert!(numbers.windows(2).all(|n| n[1] == n[0] + 1), "one bucket each");
            for &edge in &edges {
                prop_assert_eq!(i128::from(edge), buckets.edge(buckets.number(edge)));
                if let Some(width) = buckets.width() {
                    prop_assert_eq!((edge - buckets.origin()).rem_euclid(width), 0);
                } else if edge < RANGE_END {
                    let date = OffsetDateTime::from_unix_timestamp_nanos(i128::from(edge) * 1_000)
                        .expect("in range");
                    prop_assert_eq!((date.day(), date.hour(), date.minute()), (1, 0, 0));
                }
            }
        }

        /// A window reaching past the cap is refused, however far, without making a bucket.
        #[test]
        fn long_windows_are_refused(
            unit in unit(),
            earliest in RANGE_START..0,
            latest in 0..RANGE_END,
        ) {
            let buckets = buckets(1, unit);
            let window = (Some(earliest), Some(latest));
            let (a, b) = (buckets.number(earliest), buckets.number(latest - 1));
            let edges = buckets.edges(window, || None);
            if b - a + 1 > i128::from(MAX_BUCKETS) {
                prop_assert!(matches!(edges, Err(SearchError::TooManyBuckets)));
            } else if let Ok(edges) = edges {
                prop_assert_eq!(edges.len() as i128, b - a + 2);
            } else {
                // A week of the year 0000 may start in the year before.
                let out_of_range = matches!(edges, Err(SearchError::SpanOutOfRange { .. }));
                prop_assert!(out_of_range, "{:?}", edges);
                prop_assert!(buckets.edge(a) < i128::from(RANGE_START));
            }
        }

        /// The calendar arithmetic is the Gregorian calendar's, over the whole range.
        #[test]
        fn civil_days_match_the_calendar(days in -719_528i64..=2_932_896) {
            let date = Date::from_julian_day(i32::try_from(days + EPOCH_JULIAN_DAY).expect("small"))
                .expect("in range");
            let (year, month) = civil_from_days(days);
            prop_assert_eq!((year, month), (i64::from(date.year()), i64::from(u8::from(date.month()))));
            let first = Date::from_calendar_date(date.year(), date.month(), 1).expect("a date");
            prop_assert_eq!(
                days_from_civil(i128::from(year), i128::from(month)),
                i128::from(first.to_julian_day()) - i128::from(EPOCH_JULIAN_DAY)
            );
        }
    }
}
