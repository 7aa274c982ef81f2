//! The funnel's answer, read from the rows of `spoor_spl::build::funnel`.

use std::time::Duration;

use spoor_proto::search::Row;
use spoor_spl::build::Funnel;
use spoor_spl::build::funnel::{
    BREAKDOWN, TOUCHED, UNTOUCHED, overall_time_column, time_column, users_column,
};

use super::{number, text};
use crate::Error;

const QUESTION: &str = "funnel";

/// How many users went through a funnel's steps, overall and, with a breakdown, per value.
///
/// Here against spoor's embedded engine, as the [crate's](crate) example starts it:
///
/// ```
/// # use std::sync::Arc;
/// # use spoor_engine::Engine;
/// # use spoor_engine::server::{Credentials, Server, ServerOptions};
/// use std::time::Duration;
/// use spoor::{Funnel, Retriever, Step, Tracker, Window};
/// use time::OffsetDateTime;
///
/// # let data = std::env::temp_dir().join(format!("spoor-doc-funnel-{}", std::process::id()));
/// # let (engine, _) = Engine::open(&data)?;
/// # let options = ServerOptions::new(Credentials::generate()?).listen("127.0.0.1:0".parse()?);
/// # let running = Server::start(Arc::new(engine), options)?;
/// # let config = running.config().build()?;
/// let tracker = Tracker::new(&config, "shop")?;
/// tracker.setup()?;
/// let start = OffsetDateTime::now_utc() - Duration::from_secs(3_600);
/// let at = |minutes: u64| start + Duration::from_secs(60 * minutes);
/// tracker.track_at("visit", Some("u1"), [("source", "ads")], at(0))?;
/// tracker.track_at("signup", Some("u1"), [("plan", "pro")], at(5))?;
/// tracker.track_at("visit", Some("u2"), [("source", "mail")], at(1))?;
/// tracker.track_at("visit", Some("u3"), [("source", "ads")], at(2))?;
/// tracker.track_at("signup", Some("u3"), [("plan", "free")], at(12))?;
/// tracker.shutdown(Duration::from_secs(10))?;
///
/// let retriever = Retriever::new(&config)?;
/// let steps = [Step::new("visit"), Step::new("signup")];
/// let funnel = Funnel::new(steps, Duration::from_secs(3_600))?;
/// let report = retriever.funnel("shop", &funnel, &[], &Window::Last24Hours)?;
/// let signup = &report.steps[1];
/// assert_eq!((signup.event.as_str(), signup.users), ("signup", 2));
/// assert_eq!(signup.from_previous, Some(2.0 / 3.0));
/// // The median of 5 and 10 minutes: of an even count, Splunk's is the larger middle one.
/// assert_eq!(signup.median_time, Some(Duration::from_secs(600)));
///
/// // Only pro signups, split by the source of each user's first visit.
/// let pro = [Step::new("visit"), Step::new("signup").filter("plan=pro".parse()?)];
/// let funnel = Funnel::new(pro, Duration::from_secs(3_600))?.breakdown("source".parse()?);
/// let report = retriever.funnel("shop", &funnel, &[], &Window::Last24Hours)?;
/// let ads = &report.groups[0];
/// assert_eq!((ads.value.as_deref(), ads.steps[0].users, ads.steps[1].users), (Some("ads"), 2, 1));
/// assert_eq!(report.groups[1].value.as_deref(), Some("mail"));
/// # drop(running);
/// # std::fs::remove_dir_all(&data)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelReport {
    /// Every user, step by step, in the funnel's order.
    pub steps: Vec<FunnelStep>,
    /// With a breakdown, the users of each value of the property on their first step-1 event,
    /// the most step-1 users first, then by value (users without the property last); empty
    /// without a breakdown.
    pub groups: Vec<FunnelGroup>,
}

/// The users who reached one step of a funnel.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelStep {
    /// The step's event name.
    pub event: String,
    /// The users who reached the step.
    pub users: u64,
    /// The share of the previous step's users who reached this one, `0.0` to `1.0`; `None` for
    /// step 1 and when the previous step has no users.
    pub from_previous: Option<f64>,
    /// The share of step 1's users who reached this one, `0.0` to `1.0` (`1.0` for step 1);
    /// `None` when step 1 has no users.
    pub from_first: Option<f64>,
    /// The median over the users who reached the step of the time from the previous step (see
    /// `spoor_spl::build::funnel` for which events), to the microsecond; `None` for step 1
    /// and when no user reached the step. Of an even count, the larger middle time, as Splunk.
    pub median_time: Option<Duration>,
}

/// The steps of the users of one breakdown value.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelGroup {
    /// The property's value on the users' first step-1 event; `None` when it lacked it.
    pub value: Option<String>,
    /// The users step by step, as [`FunnelReport::steps`].
    pub steps: Vec<FunnelStep>,
}

/// One row's users and median times, read.
struct Counts {
    users: Vec<u64>,
    times: Vec<Option<Duration>>,
}

pub(crate) fn funnel(rows: Vec<Row>, funnel: &Funnel) -> Result<FunnelReport, Error> {
    let names: Vec<&str> = funnel.steps().iter().map(|s| s.event()).collect();
    if funnel.breakdown_key().is_none() {
        let counts = match rows.as_slice() {
            [] => Counts {
                users: vec![0; names.len()],
                times: vec![None; names.len()],
            },
            [row] => counts(row, names.len(), time_column)?,
            _ => {
                return Err(Error::Answer(format!(
                    "the funnel answer has {} rows, not one",
                    rows.len()
                )));
            }
        };
        return Ok(FunnelReport {
            steps: steps(&names, &counts),
            groups: Vec::new(),
        });
    }
    let mut groups = Vec::with_capacity(rows.len());
    let mut total = vec![0u64; names.len()];
    for row in &rows {
        let value = breakdown(text(row, BREAKDOWN, QUESTION)?)?;
        if groups.iter().any(|(v, _)| *v == value) {
            return Err(Error::Answer(format!(
                "the funnel answer has the breakdown {value:?} twice"
            )));
        }
        let counts = counts(row, names.len(), time_column)?;
        for (sum, users) in total.iter_mut().zip(&counts.users) {
            *sum = sum.saturating_add(*users);
        }
        groups.push((value, counts));
    }
    let overall = match rows.first() {
        Some(row) => counts(row, names.len(), overall_time_column)?.times,
        None => vec![None; names.len()],
    };
    groups.sort_by(|(a, x), (b, y)| {
        y.users[0]
            .cmp(&x.users[0])
            .then_with(|| a.is_none().cmp(&b.is_none()))
            .then_with(|| a.cmp(b))
    });
    Ok(FunnelReport {
        steps: steps(
            &names,
            &Counts {
                users: total,
                times: overall,
            },
        ),
        groups: groups
            .into_iter()
            .map(|(value, counts)| FunnelGroup {
                value,
                steps: steps(&names, &counts),
            })
            .collect(),
    })
}

/// A row's users per step and its median times (from `column`), each checked.
fn counts(row: &Row, steps: usize, column: fn(usize) -> String) -> Result<Counts, Error> {
    let users = (1..=steps)
        .map(|k| number(row, &users_column(k), QUESTION))
        .collect::<Result<Vec<u64>, Error>>()?;
    if let Some(k) = (1..steps).find(|&k| users[k] > users[k - 1]) {
        return Err(Error::Answer(format!(
            "the funnel answer has more users at step {} than at step {k}",
            k + 1
        )));
    }
    let mut times = vec![None];
    for k in 2..=steps {
        times.push(median(row, &column(k))?);
    }
    Ok(Counts { users, times })
}

/// A median time in seconds, to the microsecond; none without the column.
fn median(row: &Row, column: &str) -> Result<Option<Duration>, Error> {
    let Some(text) = row.get_str(column) else {
        return Ok(None);
    };
    let bad = || {
        Error::Answer(format!(
            "the funnel answer's `{column}` is {text:?}, not a time in seconds"
        ))
    };
    let seconds: f64 = text.parse().map_err(|_| bad())?;
    let micros = (seconds * 1e6).round();
    if !(0.0..=1e15).contains(&micros) {
        return Err(bad());
    }
    Ok(Some(Duration::from_micros(micros as u64)))
}

/// A breakdown value as the query writes it: [`TOUCHED`] and the value, or [`UNTOUCHED`].
fn breakdown(text: &str) -> Result<Option<String>, Error> {
    if text == UNTOUCHED {
        return Ok(None);
    }
    text.strip_prefix(TOUCHED)
        .map(|value| Some(value.to_owned()))
        .ok_or_else(|| {
            Error::Answer(format!(
                "the funnel answer's breakdown {text:?} is neither {TOUCHED:?} and a value nor \
                 {UNTOUCHED:?}"
            ))
        })
}

fn steps(names: &[&str], counts: &Counts) -> Vec<FunnelStep> {
    let share = |users: u64, of: u64| (of > 0).then(|| users as f64 / of as f64);
    let first = counts.users.first().copied().unwrap_or(0);
    names
        .iter()
        .zip(&counts.users)
        .zip(&counts.times)
        .enumerate()
        .map(|(k, ((name, &users), &median_time))| FunnelStep {
            event: (*name).to_owned(),
            users,
            from_previous: k
                .checked_sub(1)
                .and_then(|before| share(users, counts.users[before])),
            from_first: share(users, first),
            median_time,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::tests::row;
    use spoor_spl::build::Step;

    fn three(breakdown: bool) -> Funnel {
        let steps = ["visit", "signup", "purchase"].map(Step::new);
        let funnel = Funnel::new(steps, Duration::from_secs(3_600)).unwrap();
        if breakdown {
            funnel.breakdown("source".parse().unwrap())
        } else {
            funnel
        }
    }

    #[test]
    fn one_row_gives_the_steps_and_their_conversions() {
        let rows = vec![row(&[
            ("step1", "4"),
            ("step2", "2"),
            ("step3", "0"),
            ("time2", "1.5000001"),
        ])];
        let report = funnel(rows, &three(false)).unwrap();
        let users: Vec<u64> = report.steps.iter().map(|s| s.users).collect();
        assert_eq!(users, [4, 2, 0]);
        assert_eq!(report.steps[0].from_previous, None);
        assert_eq!(report.steps[0].from_first, Some(1.0));
        assert_eq!(report.steps[1].from_previous, Some(0.5));
        assert_eq!(report.steps[2].from_previous, Some(0.0));
        assert_eq!(
            report.steps[1].median_time,
            Some(Duration::from_micros(1_500_000))
        );
        assert_eq!(report.steps[2].median_time, None);
        assert!(report.groups.is_empty());

        let none = funnel(Vec::new(), &three(false)).unwrap();
        assert_eq!(none.steps[1].from_first, None);
    }

    #[test]
    fn groups_come_by_users_then_value_with_none_last() {
        let group = |value: &str, first: &str| {
            row(&[
                ("breakdown", value),
                ("step1", first),
                ("step2", "1"),
                ("step3", "0"),
                ("time2", "2"),
                ("overall_time2", "3"),
            ])
        };
        let rows = vec![
            group("~", "2"),
            group("=b", "2"),
            group("=a", "1"),
            group("=", "2"),
        ];
        let report = funnel(rows, &three(true)).unwrap();
        let values: Vec<Option<&str>> = report.groups.iter().map(|g| g.value.as_deref()).collect();
        assert_eq!(values, [Some(""), Some("b"), None, Some("a")]);
        assert_eq!(report.steps[0].users, 7);
        assert_eq!(report.steps[1].users, 4);
        assert_eq!(report.steps[1].median_time, Some(Duration::from_secs(3)));
        assert_eq!(
            report.groups[0].steps[1].median_time,
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn rows_of_another_shape_are_errors() {
        let bad = |pairs: &[(&str, &str)], breakdown: bool| {
            funnel(vec![row(pairs)], &three(breakdown))
                .unwrap_err()
                .to_string()
        };
        let steps = [("step1", "1"), ("step2", "1")];
        assert!(bad(&steps, false).contains("lacks the `step3` column"));
        let more = [("step1", "1"), ("step2", "2"), ("step3", "0")];
        assert!(bad(&more, false).contains("more users at step 2 than at step 1"));
        let time = [
            ("step1", "1"),
            ("step2", "1"),
            ("step3", "0"),
            ("time2", "-1"),
        ];
        assert!(bad(&time, false).contains("not a time in seconds"));
        let nan = [
            ("step1", "1"),
            ("step2", "1"),
            ("step3", "0"),
            ("time2", "NaN"),
        ];
        assert!(bad(&nan, false).contains("not a time in seconds"));
        let value = [
            ("breakdown", "ads"),
            ("step1", "1"),
            ("step2", "0"),
            ("step3", "0"),
        ];
        assert!(bad(&value, true).contains("neither"));
        let rows = vec![row(&[("step1", "1")]), row(&[("step1", "1")])];
        assert!(funnel(rows, &three(false)).is_err());
        let twice = |_| {
            row(&[
                ("breakdown", "~"),
                ("step1", "1"),
                ("step2", "0"),
                ("step3", "0"),
            ])
        };
        let rows = (0..2).map(twice).collect();
        assert!(
            funnel(rows, &three(true))
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }
}
