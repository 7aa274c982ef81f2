//! Typed answers, read from the rows a search gives. Reading is pure: the blocking and the async
//! retriever share it.

use spoor_event::field::{APPLICATION, DISTINCT_ID, EVENT, PROPERTY_PREFIX};
use spoor_proto::search::Row;
use spoor_spl::ast::Span;
use spoor_spl::build::{COUNT, OTHER, Stat, UNIQUE_USERS, VALUE};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Error;

mod funnel;
mod retention;

pub(crate) use funnel::funnel;
pub use funnel::{FunnelGroup, FunnelReport, FunnelStep};
pub(crate) use retention::retention;
pub use retention::{Cohort, MAX_RETENTION_CELLS, Retained, RetentionReport};

/// An application: how many events it logged and how many users logged them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Application {
    /// Its name.
    pub name: String,
    /// Events in the window.
    pub events: u64,
    /// Distinct `distinct_id`s among them.
    pub unique_users: u64,
}

/// How many events and unique users a window holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Totals {
    /// Events.
    pub events: u64,
    /// Distinct `distinct_id`s among them.
    pub unique_users: u64,
}

impl Totals {
    /// Events per unique user (`None` without users).
    pub fn events_per_user(&self) -> Option<f64> {
        (self.unique_users > 0).then(|| self.events as f64 / self.unique_users as f64)
    }
}

/// A window's totals beside those of the window of the same length just before it.
///
/// ```
/// use spoor::answer::{Summary, Totals};
///
/// let summary = Summary {
///     current: Totals { events: 150, unique_users: 30 },
///     previous: Some(Totals { events: 100, unique_users: 30 }),
/// };
/// assert_eq!(summary.events_change(), Some(0.5));
/// assert_eq!(summary.users_change(), Some(0.0));
/// assert_eq!(summary.current.events_per_user(), Some(5.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// The window asked about.
    pub current: Totals,
    /// The window of the same length ending where it starts; `None` for all time.
    pub previous: Option<Totals>,
}

impl Summary {
    /// The relative change of the events from the previous window (`0.5`: half as many again);
    /// `None` without a previous window or with no events in it.
    pub fn events_change(&self) -> Option<f64> {
        change(self.previous?.events as f64, self.current.events as f64)
    }

    /// The relative change of the unique users, as [`events_change`](Self::events_change).
    pub fn users_change(&self) -> Option<f64> {
        change(
            self.previous?.unique_users as f64,
            self.current.unique_users as f64,
        )
    }

    /// The relative change of the events per user, as [`events_change`](Self::events_change).
    pub fn per_user_change(&self) -> Option<f64> {
        change(
            self.previous?.events_per_user()?,
            self.current.events_per_user()?,
        )
    }
}

fn change(before: f64, now: f64) -> Option<f64> {
    (before > 0.0).then(|| now / before - 1.0)
}

/// A statistic of a numeric property over time: bucket start times and one series of numbers
/// per split value (`value` when not split); a bucket without a number has none.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberChart {
    /// The bucket span.
    pub span: Span,
    /// Bucket start times, ascending.
    pub times: Vec<OffsetDateTime>,
    /// One series per split value (or `value`), sorted by name, `OTHER` last.
    pub series: Vec<NumberSeries>,
}

/// One series of a [`NumberChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct NumberSeries {
    /// The split value, or `value`.
    pub name: String,
    /// One per bucket, aligned with [`NumberChart::times`].
    pub values: Vec<Option<f64>>,
}

/// A user with how many events they had.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserCount {
    /// Their `distinct_id`.
    pub distinct_id: String,
    /// Their events in the window.
    pub events: u64,
}

/// One event of a user's timeline: when, what, and its properties as Splunk extracted them
/// (text; spoor's key prefix taken off), by key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserEvent {
    /// When it happened.
    pub time: OffsetDateTime,
    /// The event's name.
    pub name: String,
    /// Its properties, by key.
    pub properties: Vec<(String, String)>,
}

/// A page of a user's events, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timeline {
    /// The page's events, newest first.
    pub events: Vec<UserEvent>,
    /// Whether older events follow (the next page).
    pub more: bool,
}

/// An event name of an application, with its counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventCount {
    /// The event's name.
    pub name: String,
    /// Times it happened in the window.
    pub events: u64,
    /// Distinct users it happened to.
    pub unique_users: u64,
}

/// A property of an event, with how many distinct values it took.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Property {
    /// The property's key (without Splunk's `analytics_prop__` prefix).
    pub key: String,
    /// Distinct values in the window.
    pub distinct_values: u64,
}

/// A value of a property, with how many events had it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValueCount {
    /// The value, as Splunk extracted it.
    pub value: String,
    /// Events with that value.
    pub count: u64,
}

/// One series of a chart: a value per bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Series {
    /// The series' name: an event name, a property value, [`OTHER`], or the measure's name
    /// (`count`, `unique_users`) when the chart is not split.
    pub name: String,
    /// One value per bucket of the chart, empty buckets included (as `0`).
    pub values: Vec<u64>,
}

/// A chart over time: bucket start times and series.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chart {
    /// The bucket length.
    pub span: Span,
    /// Each bucket's start, ascending, with its zone as the server wrote it.
    pub times: Vec<OffsetDateTime>,
    /// The series, sorted by name, with [`OTHER`] (the series cut by the limit, summed) last.
    pub series: Vec<Series>,
}

impl Chart {
    /// The series named `name`.
    pub fn series(&self, name: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.name == name)
    }

    /// The sum over every series and bucket.
    pub fn total(&self) -> u64 {
        self.series.iter().flat_map(|s| &s.values).sum()
    }
}

fn text<'r>(row: &'r Row, field: &str, question: &str) -> Result<&'r str, Error> {
    row.get_str(field).ok_or_else(|| {
        Error::Answer(format!(
            "a row of the {question} answer lacks the `{field}` column"
        ))
    })
}

fn number(row: &Row, field: &str, question: &str) -> Result<u64, Error> {
    let value = text(row, field, question)?;
    value.parse().map_err(|_| {
        Error::Answer(format!(
            "the {question} answer's `{field}` is {value:?}, not a count"
        ))
    })
}

pub(crate) fn applications(rows: Vec<Row>) -> Result<Vec<Application>, Error> {
    rows.iter()
        .map(|row| {
            Ok(Application {
                name: text(row, APPLICATION, "applications")?.to_owned(),
                events: number(row, COUNT, "applications")?,
                unique_users: number(row, UNIQUE_USERS, "applications")?,
            })
        })
        .collect()
}

pub(crate) fn totals(rows: Vec<Row>) -> Result<Totals, Error> {
    let [row] = rows.as_slice() else {
        return Err(Error::Answer(format!(
            "the totals answer has {} rows, not one",
            rows.len()
        )));
    };
    Ok(Totals {
        events: number(row, COUNT, "totals")?,
        unique_users: number(row, UNIQUE_USERS, "totals")?,
    })
}

pub(crate) fn number_chart(rows: Vec<Row>, span: Span, stat: Stat) -> Result<NumberChart, Error> {
    // Where a bucket has no number, `min` and `max` give its least or greatest text instead
    // (Splunk's stats, and the engine's): that bucket has no number.
    let text_is_none = matches!(stat, Stat::Min | Stat::Max);
    let (times, columns) = columns(&rows, "numbers", None, |row, name| {
        let text = text(row, name, "numbers")?;
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ if text_is_none => Ok(None),
            _ => Err(Error::Answer(format!(
                "the numbers answer's `{name}` is {text:?}, not a number"
            ))),
        }
    })?;
    Ok(NumberChart {
        span,
        times,
        series: columns
            .into_iter()
            .map(|(name, values)| NumberSeries { name, values })
            .collect(),
    })
}

/// A row's `_time`, as Splunk prints it (RFC 3339).
fn row_time(row: &Row, question: &str) -> Result<OffsetDateTime, Error> {
    let time = text(row, "_time", question)?;
    OffsetDateTime::parse(time, &Rfc3339).map_err(|_| {
        Error::Answer(format!(
            "the {question} answer's `_time` {time:?} is not an RFC 3339 time"
        ))
    })
}

pub(crate) fn users(rows: Vec<Row>) -> Result<Vec<UserCount>, Error> {
    rows.iter()
        .map(|row| {
            Ok(UserCount {
                distinct_id: text(row, DISTINCT_ID, "users")?.to_owned(),
                events: number(row, COUNT, "users")?,
            })
        })
        .collect()
}

/// The events of a listing's rows from `skip` on, at most `limit`, and whether more follow.
pub(crate) fn timeline(rows: Vec<Row>, skip: usize, limit: usize) -> Result<Timeline, Error> {
    let more = rows.len() > skip + limit;
    let events = rows
        .iter()
        .skip(skip)
        .take(limit)
        .map(|row| {
            let time = row_time(row, "timeline")?;
            let properties = row
                .iter()
                .filter_map(|(field, _)| {
                    let key = field.strip_prefix(PROPERTY_PREFIX)?;
                    Some((key.to_owned(), row.get_str(field)?.to_owned()))
                })
                .collect();
            Ok(UserEvent {
                time,
                name: text(row, EVENT, "timeline")?.to_owned(),
                properties,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Timeline { events, more })
}

pub(crate) fn events(rows: Vec<Row>) -> Result<Vec<EventCount>, Error> {
    rows.iter()
        .map(|row| {
            Ok(EventCount {
                name: text(row, EVENT, "events")?.to_owned(),
                events: number(row, COUNT, "events")?,
                unique_users: number(row, UNIQUE_USERS, "events")?,
            })
        })
        .collect()
}

/// The one row of `stats dc(analytics_prop__*) as *`: every column is a property (no row: no
/// property). Sorted by key.
pub(crate) fn properties(rows: Vec<Row>) -> Result<Vec<Property>, Error> {
    let mut out = Vec::new();
    for row in &rows {
        for (key, _) in row.iter() {
            if key.starts_with('_') {
                continue;
            }
            out.push(Property {
                key: key.to_owned(),
                distinct_values: number(row, key, "properties")?,
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

pub(crate) fn values(rows: Vec<Row>) -> Result<Vec<ValueCount>, Error> {
    rows.iter()
        .map(|row| {
            Ok(ValueCount {
                value: text(row, VALUE, "property values")?.to_owned(),
                count: number(row, COUNT, "property values")?,
            })
        })
        .collect()
}

/// A timechart's rows: `_time`, then one column per series (`_span*` removed by the query).
pub(crate) fn chart(rows: Vec<Row>, span: Span) -> Result<Chart, Error> {
    let (times, columns) = columns(&rows, "chart", 0, |row, name| number(row, name, "chart"))?;
    Ok(Chart {
        span,
        times,
        series: columns
            .into_iter()
            .map(|(name, values)| Series { name, values })
            .collect(),
    })
}

/// A chart's buckets: their times, and one named column of values per series.
type Columns<T> = (Vec<OffsetDateTime>, Vec<(String, Vec<T>)>);

/// The buckets' times and one column of values per series (every column but the internal ones,
/// `_time` and `_span…`), a bucket without a cell given `missing`; sorted by name, `OTHER` last.
fn columns<T: Clone>(
    rows: &[Row],
    question: &str,
    missing: T,
    value: impl Fn(&Row, &str) -> Result<T, Error>,
) -> Result<Columns<T>, Error> {
    let mut times = Vec::with_capacity(rows.len());
    let mut series: Vec<(String, Vec<T>)> = Vec::new();
    for (bucket, row) in rows.iter().enumerate() {
        times.push(row_time(row, question)?);
        for (name, _) in row.iter() {
            if name.starts_with('_') {
                continue;
            }
            let value = value(row, name)?;
            let at = match series.iter().position(|(n, _)| n == name) {
                Some(at) => at,
                None => {
                    series.push((name.to_owned(), vec![missing.clone(); bucket]));
                    series.len() - 1
                }
            };
            series[at].1.push(value);
        }
        for (_, values) in &mut series {
            values.resize(bucket + 1, missing.clone());
        }
    }
    series.sort_by(|(a, _), (b, _)| (a == OTHER).cmp(&(b == OTHER)).then(a.cmp(b)));
    Ok((times, series))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_proto::search::Value;

    /// A row of `(column, value)` pairs.
    pub(super) fn row(pairs: &[(&str, &str)]) -> Row {
        Row::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::Single((*v).to_owned())))
                .collect(),
        )
    }

    #[test]
    fn charts_keep_every_bucket_and_put_other_last() {
        let rows = vec![
            row(&[
                ("_time", "2026-11-01T00:00:00.000+00:00"),
                ("OTHER", "1"),
                ("b", "2"),
            ]),
            row(&[
                ("_time", "2026-11-02T00:00:00.000+00:00"),
                ("a", "5"),
                ("b", "0"),
                ("OTHER", "0"),
            ]),
        ];
        let chart = chart(rows, Span::DAY).unwrap();
        assert_eq!(chart.times.len(), 2);
        let names: Vec<_> = chart.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "OTHER"]);
        assert_eq!(chart.series("a").unwrap().values, [0, 5]);
        assert_eq!(chart.total(), 8);
    }

    #[test]
    fn bad_rows_are_errors_that_say_what() {
        let err = applications(vec![row(&[("application", "shop"), ("count", "x")])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected answer: the applications answer's `count` is \"x\", not a count"
        );
        let err = chart(vec![row(&[("_time", "yesterday")])], Span::DAY).unwrap_err();
        assert!(err.to_string().contains("not an RFC 3339 time"));
        assert!(properties(Vec::new()).unwrap().is_empty());
    }
}

/// Rows of any shape are read without a panic: an answer or [`Error::Answer`].
#[cfg(test)]
mod any_rows;
