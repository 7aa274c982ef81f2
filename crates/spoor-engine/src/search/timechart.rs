//! `timechart`: rows counted (or otherwise aggregated) per time bucket, per series.

use spoor_spl::ast::{SpanUnit, Timechart};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::hash::FxHashMap;

use super::SearchError;
use super::eval::{Acc, Bound, Update, bind, in_halves, numbers_of};
use super::frame::{Col, Frame};
use super::text::{format_number, format_time};

const SECOND: i64 = 1_000_000;
const DAY: i64 = 86_400 * SECOND;
/// Sunday 1969-12-28 00:00 UTC, where week buckets are counted from.
const WEEK_ORIGIN: i64 = -4 * DAY;

/// Bucket arithmetic for one span.
#[derive(Debug, Clone, Copy)]
pub(super) struct Buckets {
    unit: SpanUnit,
    count: i64,
}

impl Buckets {
    /// The buckets of a chart's span.
    pub(super) fn of(chart: &Timechart) -> Self {
        Self {
            unit: chart.span.unit,
            count: i64::from(chart.span.count.get()),
        }
    }

    /// The start of the bucket holding `t` (µs).
    fn start(self, t: i64) -> i64 {
        match self.unit {
            SpanUnit::Month => month_start(month_index(t).div_euclid(self.count) * self.count),
            SpanUnit::Week => {
                let width = self.count * 7 * DAY;
                WEEK_ORIGIN + (t - WEEK_ORIGIN).div_euclid(width) * width
            }
            _ => {
                let width = self.width();
                t.div_euclid(width) * width
            }
        }
    }

    /// The start of the bucket after the one starting at `start`.
    pub(super) fn next(self, start: i64) -> i64 {
        match self.unit {
            SpanUnit::Month => month_start(month_index(start) + self.count),
            SpanUnit::Week => start + self.count * 7 * DAY,
            _ => start + self.width(),
        }
    }

    /// The width of fixed-width spans, in µs.
    fn width(self) -> i64 {
        let unit = match self.unit {
            SpanUnit::Second => SECOND,
            SpanUnit::Minute => 60 * SECOND,
            SpanUnit::Hour => 3600 * SECOND,
            SpanUnit::Day => DAY,
            SpanUnit::Week => 7 * DAY,
            SpanUnit::Month => 31 * DAY,
        };
        self.count * unit
    }

    /// The starts of the buckets charted over `window` (µs, `None`: open): from the bucket of
    /// `earliest` to that of the last instant before `latest` (none when that comes first). An
    /// open bound is the first (or last) time of the rows, `rows_span` (`None`: no rows).
    pub(super) fn starts(
        self,
        window: (Option<i64>, Option<i64>),
        rows_span: impl FnOnce() -> Option<(i64, i64)>,
    ) -> Vec<i64> {
        let (first, last) = match window {
            (Some(e), Some(l)) => (Some(self.start(e)), Some(self.start(l - 1))),
            (e, l) => {
                let span = rows_span();
                (
                    e.or(span.map(|s| s.0)).map(|t| self.start(t)),
                    l.map(|l| l - 1)
                        .or(span.map(|s| s.1))
                        .map(|t| self.start(t)),
                )
            }
        };
        let mut starts = Vec::new();
        if let (Some(first), Some(last)) = (first, last) {
            let mut start = first;
            while start <= last {
                starts.push(start);
                start = self.next(start);
            }
        }
        starts
    }
}

/// Months since January 1970 of the instant `t` (µs).
fn month_index(t: i64) -> i64 {
    let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    i64::from(time.year() - 1970) * 12 + i64::from(u8::from(time.month())) - 1
}

/// The instant (µs) of 00:00 UTC on the 1st of the month `index` months after January 1970.
fn month_start(index: i64) -> i64 {
    let year = i32::try_from(1970 + index.div_euclid(12)).unwrap_or(9999);
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1))
        .unwrap_or(Month::January);
    let date = Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN);
    let time = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc();
    i64::try_from(time.unix_timestamp_nanos() / 1_000).unwrap_or(0)
}

/// One series: its name and the accumulators of each bucket.
struct Series {
    name: String,
    accs: Vec<Acc>,
}

/// The one aggregation of a chart, bound to the columns of `frame`.
pub(super) fn bind_one<'f, 'a>(
    frame: &'f Frame<'a>,
    chart: &Timechart,
) -> Result<Bound<'f, 'a>, SearchError> {
    let bound = bind(frame, &chart.aggregation);
    let [bound] = <[Bound<'_, 'a>; 1]>::try_from(bound).map_err(|_| {
        SearchError::Unsupported(format!(
            "timechart needs one field to aggregate, and {} names several or none",
            chart.aggregation.aggregate
        ))
    })?;
    Ok(bound)
}

/// One chart's rows of some part: each series' by code (`0`: NULL) and each bucket's state.
pub(super) type Part = Vec<(u32, Vec<Acc>)>;

pub(crate) fn run<'a>(frame: &Frame<'a>, chart: &Timechart) -> Result<Frame<'a>, SearchError> {
    let buckets = Buckets::of(chart);
    let bound = bind_one(frame, chart)?;
    let numbers = numbers_of(&bound);
    let empty = Vec::new();
    let times = frame.times.as_ref().unwrap_or(&empty);

    // The buckets: the window's, or the rows' where the window is open.
    let starts = buckets.starts(frame.window, || {
        Some((*times.iter().min()?, *times.iter().max()?))
    });
    // A row's bucket: arithmetic for fixed widths, a search over the starts for months.
    let first = starts.first().copied();
    let end = starts.last().map(|&last| buckets.next(last));
    let (month, width) = (buckets.unit == SpanUnit::Month, buckets.width());
    let slot = |t: i64| -> Option<usize> {
        let (first, end) = (first?, end?);
        if t < first || t >= end {
            return None;
        }
        // Every bucket but a month is `width` long and aligned with the first.
        Some(if month {
            starts.partition_point(|&s| s <= t) - 1
        } else {
            ((t - first) / width) as usize
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
    let chart_rows = |half: std::ops::Range<usize>| -> Part {
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
                s = series.len() as u32;
                index_of[code as usize] = s;
                series.push((code, vec![Acc::default(); starts.len()]));
            }
            update.apply(&mut series[s as usize].1[b], row);
        }
        series
    };
    let parts = in_halves(times.len(), chart_rows);
    Ok(output(
        chart,
        &bound,
        by_col,
        buckets,
        &starts,
        parts,
        frame.window,
    ))
}

/// The chart's rows: the buckets' `starts`, and the series of `parts` (merged by code) named
/// by the by column `by_col` (`None` when the chart has no by field, or no row has it).
pub(super) fn output<'a>(
    chart: &Timechart,
    bound: &Bound<'_, 'a>,
    by_col: Option<&Col<'a>>,
    buckets: Buckets,
    starts: &[i64],
    parts: Vec<Part>,
    window: (Option<i64>, Option<i64>),
) -> Frame<'a> {
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
            out.cols.push(column("OTHER", &other));
        }
    }

    let spans: Vec<i64> = starts
        .iter()
        .map(|&s| (buckets.next(s) - s) / SECOND)
        .collect();
    out.cols.push(Col::from_values(
        "_span",
        spans.iter().map(|s| Some(s.to_string())),
    ));
    // Spans of a day or more (`24h` too) also give their length in days.
    if buckets.unit == SpanUnit::Month || buckets.width() >= DAY {
        out.cols.push(Col::from_values(
            "_spandays",
            spans
                .iter()
                .map(|s| Some(format_number(*s as f64 / 86_400.0))),
        ));
    }
    out
}
