//! The retention's answer, read from the rows of `spoor_spl::build::retention`.

use std::collections::BTreeMap;

use spoor_proto::search::Row;
use spoor_spl::build::Period;
use spoor_spl::build::retention::{COHORT, PERIOD, SIZE, USERS};
use spoor_spl::modifier::{Relative, TimeModifier};
use time::{Duration, OffsetDateTime, UtcOffset};

use super::{number, text};
use crate::Error;

const QUESTION: &str = "retention";

/// Retention cohorts: of the users who first did the start event in a period, how many did
/// the return event in each period from then on.
///
/// Here against spoor's embedded engine, as the [crate's](crate) example starts it:
///
/// ```
/// # use std::sync::Arc;
/// # use spoor_engine::Engine;
/// # use spoor_engine::server::{Credentials, Server, ServerOptions};
/// use std::time::Duration;
/// use spoor::{Period, Retention, Retriever, Step, Tracker, Window};
/// use time::macros::datetime;
///
/// # let data = std::env::temp_dir().join(format!("spoor-doc-retention-{}", std::process::id()));
/// # let (engine, _) = Engine::open(&data)?;
/// # let options = ServerOptions::new(Credentials::generate()?).listen("127.0.0.1:0".parse()?);
/// # let running = Server::start(Arc::new(engine), options)?;
/// # let config = running.config().build()?;
/// let tracker = Tracker::new(&config, "shop")?;
/// tracker.setup()?;
/// let none: [(&str, &str); 0] = [];
/// tracker.track_at("signup", Some("u1"), none, datetime!(2026-11-02 9:00 UTC))?;
/// tracker.track_at("login", Some("u1"), none, datetime!(2026-11-04 9:00 UTC))?;
/// tracker.track_at("signup", Some("u2"), none, datetime!(2026-11-03 9:00 UTC))?;
/// tracker.track_at("signup", Some("u3"), none, datetime!(2026-11-10 9:00 UTC))?;
/// tracker.shutdown(Duration::from_secs(10))?;
///
/// let retriever = Retriever::new(&config)?;
/// let question = Retention { start: Step::new("signup"), back: Step::new("login"), period: Period::Week };
/// let window = Window::between(datetime!(2026-11-01 0:00 UTC), datetime!(2026-11-15 0:00 UTC))?;
/// let report = retriever.retention("shop", &question, &[], &window)?;
/// // Weeks start on Sunday: u1 and u2 in the week of the 1st, u3 in the week of the 8th.
/// let first = &report.cohorts[0];
/// assert_eq!((first.start, first.size), (datetime!(2026-11-01 0:00 UTC), 2));
/// let users: Vec<u64> = first.periods.iter().map(|p| p.users).collect();
/// assert_eq!(users, [1, 0]); // week 0 and week 1, the last the window reaches
/// assert_eq!(first.periods[0].percent, 50.0);
/// let second = &report.cohorts[1];
/// assert_eq!((second.size, second.periods.len()), (1, 1)); // nobody back, in week 0
/// # drop(running);
/// # std::fs::remove_dir_all(&data)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionReport {
    /// The cohorts' and the periods' length.
    pub period: Period,
    /// The cohorts, the earliest first.
    pub cohorts: Vec<Cohort>,
}

/// The users who first did the start event in one period, and who of them came back.
#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    /// The start of the cohort's period, in UTC.
    pub start: OffsetDateTime,
    /// Its users.
    pub size: u64,
    /// Period 0 (the cohort's own), 1, … up to the last the window reaches, whole or in part
    /// (the current one when the window ends later; for all time, the latest period any cohort
    /// has data in), each with the users who came back in it (`0` when nobody did).
    pub periods: Vec<Retained>,
}

/// The users of a cohort who came back in one period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retained {
    /// How many.
    pub users: u64,
    /// Their share of the cohort, `0.0` to `100.0`.
    pub percent: f64,
}

/// A cohort as read: its size and its users by period.
struct Read {
    size: u64,
    users: BTreeMap<u64, u64>,
}

/// The most cells of a retention's table, cohorts × the longest cohort's periods, that an answer
/// holds (a year of daily cohorts is 365 × 365 = 133,225: too many; of weekly ones, 52 × 52).
pub const MAX_RETENTION_CELLS: usize = 100_000;

/// The cohorts of `rows`, their periods running to the one holding the last instant before
/// `end` (`None`, all time: to the latest period of any row).
pub(crate) fn retention(
    rows: Vec<Row>,
    period: Period,
    end: Option<OffsetDateTime>,
) -> Result<RetentionReport, Error> {
    let mut read: BTreeMap<OffsetDateTime, Read> = BTreeMap::new();
    for row in &rows {
        let start = cohort_start(text(row, COHORT, QUESTION)?)?;
        let p = period_number(text(row, PERIOD, QUESTION)?)?;
        let users = number(row, USERS, QUESTION)?;
        let size = number(row, SIZE, QUESTION)?;
        let cohort = read.entry(start).or_insert(Read {
            size,
            users: BTreeMap::new(),
        });
        if cohort.size != size || users > size {
            return Err(Error::Answer(format!(
                "the retention answer's cohort of {start} has {users} users of {size} and a size \
                 of {}",
                cohort.size
            )));
        }
        if let Some(p) = p
            && cohort.users.insert(p, users).is_some()
        {
            return Err(Error::Answer(format!(
                "the retention answer has period {p} of the cohort of {start} twice"
            )));
        }
    }
    // The last period: the one holding the window's last instant, or the latest with data.
    let last = match end {
        Some(end) => Some(snap(
            end.checked_sub(Duration::NANOSECOND).unwrap_or(end),
            period,
        )?),
        None => read
            .iter()
            .map(|(start, cohort)| {
                let p = cohort.users.keys().next_back().copied().unwrap_or(0);
                advance(*start, p, period)
            })
            .max(),
    };
    // Each cohort's periods, counted before anything is built: one stray event of 1970 would
    // otherwise make tens of thousands of daily periods for every cohort.
    let counts: Vec<u64> = read
        .iter()
        .map(|(start, cohort)| {
            let reached = last.map_or(0, |last| periods_between(*start, last, period));
            let latest = cohort.users.keys().next_back().copied().unwrap_or(0);
            reached.max(latest).saturating_add(1)
        })
        .collect();
    // The table a page draws: a row a cohort, a column a period of the longest.
    let longest = counts.iter().max().copied().unwrap_or(0);
    let cells = longest.saturating_mul(counts.len() as u64);
    if cells > MAX_RETENTION_CELLS as u64 {
        return Err(Error::TooLarge(format!(
            "a retention of {} cohorts over up to {longest} periods ({cells} cells) is more than \
             the {MAX_RETENTION_CELLS} cells a retriever builds: choose a longer period than a \
             {period} or a shorter window",
            counts.len()
        )));
    }
    let cohorts = read
        .into_iter()
        .zip(counts)
        .map(|((start, cohort), count)| {
            let periods = (0..count)
                .map(|p| {
                    let users = cohort.users.get(&p).copied().unwrap_or(0);
                    Retained {
                        users,
                        percent: if cohort.size == 0 {
                            0.0
                        } else {
                            users as f64 * 100.0 / cohort.size as f64
                        },
                    }
                })
                .collect();
            Cohort {
                start,
                size: cohort.size,
                periods,
            }
        })
        .collect();
    Ok(RetentionReport { period, cohorts })
}

/// A cohort's start, epoch seconds.
fn cohort_start(text: &str) -> Result<OffsetDateTime, Error> {
    let bad = || {
        Error::Answer(format!(
            "the retention answer's `{COHORT}` is {text:?}, not a time in epoch seconds"
        ))
    };
    let seconds: f64 = text.parse().map_err(|_| bad())?;
    if !seconds.is_finite() || seconds.fract() != 0.0 || seconds.abs() > 1e12 {
        return Err(bad());
    }
    OffsetDateTime::from_unix_timestamp(seconds as i64).map_err(|_| bad())
}

/// A period number: `None` for `-1`, which only carries a cohort's size.
fn period_number(text: &str) -> Result<Option<u64>, Error> {
    if text == "-1" {
        return Ok(None);
    }
    // Periods are far fewer than the 120,000 months of the years 0000 to 9999.
    match text.parse::<u64>() {
        Ok(p) if p <= 1_000_000 => Ok(Some(p)),
        _ => Err(Error::Answer(format!(
            "the retention answer's `{PERIOD}` is {text:?}, not -1 or a period number"
        ))),
    }
}

/// The start of the period holding `t`, in UTC, as the query snaps.
fn snap(t: OffsetDateTime, period: Period) -> Result<OffsetDateTime, Error> {
    let modifier = TimeModifier::Relative(Relative {
        offset: None,
        snap: Some(period.snap()),
        after: None,
    });
    modifier
        .resolve(t, UtcOffset::UTC)
        .map_err(|e| Error::Answer(format!("the retention's window cannot be read: {e}")))
}

/// The start of the period `n` periods after the one starting at `start`.
fn advance(start: OffsetDateTime, n: u64, period: Period) -> OffsetDateTime {
    // Half a period past the start of the n-th, snapped back, for months of every length.
    let seconds = (n as f64 + 0.5) * f64::from(period.seconds());
    let mid = start.checked_add(Duration::seconds_f64(seconds.min(4e11)));
    mid.and_then(|t| snap(t, period).ok()).unwrap_or(start)
}

/// How many periods from the one starting at `start` to the one starting at `last` (`0` when
/// `last` is not after `start`), as the query counts them: the distance over the period's
/// length, rounded.
fn periods_between(start: OffsetDateTime, last: OffsetDateTime, period: Period) -> u64 {
    let seconds = (last - start).as_seconds_f64() / f64::from(period.seconds());
    if seconds > 0.0 {
        seconds.round() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::tests::row;
    use time::macros::datetime;

    fn rows(cells: &[[&str; 4]]) -> Vec<Row> {
        cells
            .iter()
            .map(|[c, p, u, s]| row(&[("cohort", c), ("period", p), ("users", u), ("size", s)]))
            .collect()
    }

    #[test]
    fn periods_run_to_the_window_and_missing_ones_are_zero() {
        // January 2028 (1830297600) and February (1832976000), to April 2nd.
        let rows = rows(&[
            ["1830297600", "-1", "2", "2"],
            ["1830297600", "2", "1", "2"],
            ["1832976000", "-1", "1", "1"],
        ]);
        let end = Some(datetime!(2028-04-02 0:00 UTC));
        let report = retention(rows.clone(), Period::Month, end).unwrap();
        let [jan, feb] = report.cohorts.as_slice() else {
            panic!("{report:?}")
        };
        assert_eq!(jan.start, datetime!(2028-01-01 0:00 UTC));
        let users = |c: &Cohort| c.periods.iter().map(|p| p.users).collect::<Vec<_>>();
        assert_eq!(users(jan), [0, 0, 1, 0]);
        assert_eq!(jan.periods[2].percent, 50.0);
        assert_eq!(users(feb), [0, 0, 0]);
        // A window ending at a month's first instant does not reach that month.
        let end = Some(datetime!(2028-04-01 0:00 UTC));
        let report = retention(rows.clone(), Period::Month, end).unwrap();
        assert_eq!(report.cohorts[0].periods.len(), 3);
        // All time: to the latest period with data, March.
        let report = retention(rows, Period::Month, None).unwrap();
        assert_eq!(users(&report.cohorts[1]), [0, 0]);
        assert!(
            retention(Vec::new(), Period::Day, None)
                .unwrap()
                .cohorts
                .is_empty()
        );
    }

    #[test]
    fn weeks_and_days_count_from_the_cohort() {
        let start = datetime!(2028-01-30 0:00 UTC); // a Sunday
        let end = datetime!(2028-02-13 0:00:01 UTC);
        assert_eq!(
            periods_between(start, snap(end, Period::Week).unwrap(), Period::Week),
            2
        );
        assert_eq!(
            periods_between(start, snap(end, Period::Day).unwrap(), Period::Day),
            14
        );
        let jan = datetime!(2028-01-01 0:00 UTC);
        assert_eq!(
            advance(jan, 1, Period::Month),
            datetime!(2028-02-01 0:00 UTC)
        );
        assert_eq!(
            advance(jan, 12, Period::Month),
            datetime!(2029-01-01 0:00 UTC)
        );
        assert_eq!(
            advance(start, 2, Period::Week),
            datetime!(2028-02-13 0:00 UTC)
        );
    }

    #[test]
    fn a_stray_old_event_is_refused_not_built() {
        // A cohort of 1970 (a client's clock at zero) and five of January 2028, by day: a table
        // of 6 rows of over 21,000 periods.
        let rows = rows(&[
            ["0", "0", "1", "1"],
            ["1830297600", "0", "1", "1"],
            ["1830384000", "0", "1", "1"],
            ["1830470400", "0", "1", "1"],
            ["1830556800", "0", "1", "1"],
            ["1830643200", "0", "1", "1"],
        ]);
        let end = datetime!(2028-02-01 0:00 UTC);
        let err = retention(rows.clone(), Period::Day, Some(end)).unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
        assert!(
            err.to_string()
                .contains("choose a longer period than a day"),
            "{err}"
        );
        // By month it fits.
        assert!(retention(rows, Period::Month, Some(end)).is_ok());
    }

    #[test]
    fn rows_of_another_shape_are_errors() {
        let bad = |cells: &[[&str; 4]]| {
            retention(rows(cells), Period::Day, None)
                .unwrap_err()
                .to_string()
        };
        assert!(bad(&[["x", "0", "1", "1"]]).contains("not a time"));
        assert!(bad(&[["1830297600.5", "0", "1", "1"]]).contains("not a time"));
        assert!(bad(&[["1830297600", "-2", "1", "1"]]).contains("not -1 or a period"));
        assert!(bad(&[["1830297600", "0", "2", "1"]]).contains("2 users of 1"));
        assert!(
            bad(&[["1830297600", "0", "1", "1"], ["1830297600", "1", "1", "2"]])
                .contains("a size of 1")
        );
        assert!(
            bad(&[["1830297600", "0", "1", "1"], ["1830297600", "0", "1", "1"]]).contains("twice")
        );
        let missing = vec![row(&[("cohort", "1830297600")])];
        assert!(retention(missing, Period::Day, None).is_err());
    }
}
