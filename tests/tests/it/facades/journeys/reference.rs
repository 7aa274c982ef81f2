//! Funnels and retention computed plainly from the events, from the semantics in the module
//! docs of `spoor_spl::build::funnel` and `spoor_spl::build::retention`, sharing nothing with
//! the SPL: every chain's possible starts kept as sets, periods found with calendar dates.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use spoor::answer::{Cohort, FunnelGroup, FunnelReport, FunnelStep, Retained, RetentionReport};
use spoor::{Event, Filter, Period};
use time::{Date, Month, OffsetDateTime};

/// A condition on an event, as a reference sees it.
pub(crate) type Test = fn(&Event) -> bool;

/// A step: an event name and conditions on its properties.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) event: String,
    pub(crate) tests: Vec<Test>,
}

impl Step {
    fn matches(&self, e: &Event) -> bool {
        e.name() == self.event && self.tests.iter().all(|t| t(e))
    }
}

/// A property's text, as Splunk extracts it (`Value`'s `Display`: strings as they are, numbers
/// and booleans as written on the line).
pub(crate) fn text(e: &Event, key: &str) -> Option<String> {
    e.property(key).map(ToString::to_string)
}

/// A property's text read as a number, as `tonumber` and the numeric aggregations (`sum`,
/// `median`, …) read it: spoor-engine's `search::text::number`, which takes the text with its
/// surrounding whitespace trimmed when it is only ASCII digits, `.`, `e`, `E`, `+` and `-` with
/// at least one digit, and reads as a finite `f64` (`" 3 "`, `+4`, `1e1`, `2.`, `.5` are
/// numbers; `3x`, `1.2.3`, `inf`, `1e999`, `true`, `-` are not).
pub(crate) fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    let plausible = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    plausible
        .then(|| text.parse::<f64>().ok())
        .flatten()
        .filter(|x| x.is_finite())
}

/// Whether `e` passes `filter`, read plainly from the table in `spoor_spl::filter`'s module doc:
/// values compared byte for byte (case and spaces count, `*` is no wildcard), `!=` and "none of"
/// only of events that have the property, comparisons only of values that are numbers.
pub(crate) fn holds(filter: &Filter, e: &Event) -> bool {
    use spoor::Test;
    let value = text(e, filter.key().as_str());
    let compare = |wanted: fn(Ordering) -> bool, n: f64| {
        value
            .as_deref()
            .and_then(number)
            .and_then(|x| x.partial_cmp(&n))
            .is_some_and(wanted)
    };
    match filter.test() {
        Test::Equals(v) => value.as_deref() == Some(v.as_str()),
        Test::NotEquals(v) => value.is_some_and(|x| x != *v),
        Test::OneOf(vs) => value.is_some_and(|x| vs.contains(&x)),
        Test::NoneOf(vs) => value.is_some_and(|x| !vs.contains(&x)),
        Test::Less(n) => compare(Ordering::is_lt, *n),
        Test::AtMost(n) => compare(Ordering::is_le, *n),
        Test::Greater(n) => compare(Ordering::is_gt, *n),
        Test::AtLeast(n) => compare(Ordering::is_ge, *n),
        Test::Exists => value.is_some(),
        Test::Missing => value.is_none(),
        other => panic!("no reference for {other:?}"),
    }
}

/// Splunk's median: of `n` values, the one at rank `round((n − 1) / 2)`, halves up (the upper
/// middle of an even count).
pub(crate) fn median_by<T: Copy>(
    mut values: Vec<T>,
    order: impl FnMut(&T, &T) -> Ordering,
) -> Option<T> {
    values.sort_by(order);
    values.get(values.len() / 2).copied()
}

/// The events of each user (with an id) in `[from, to)` passing `filters`, in written order.
pub(crate) fn by_user<'e>(
    events: &'e [Event],
    application: &str,
    window: Option<(OffsetDateTime, OffsetDateTime)>,
    filters: &[Test],
) -> BTreeMap<&'e str, Vec<&'e Event>> {
    let mut users: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in events {
        let inside = window.is_none_or(|(from, to)| e.time() >= from && e.time() < to);
        if e.application() != application || !inside || !filters.iter().all(|f| f(e)) {
            continue;
        }
        if let Some(user) = e.distinct_id() {
            users.entry(user).or_default().push(e);
        }
    }
    users
}

fn micros(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000
}

/// The median of durations in microseconds ([`median_by`]).
fn median(values: Vec<i128>) -> Option<Duration> {
    let micros = median_by(values, Ord::cmp)?;
    Some(Duration::from_micros(
        u64::try_from(micros).expect("not negative"),
    ))
}

/// One user's progress: whether they reached each step, the time to each step reached (from
/// step 2), and their first-touch value.
struct Progress {
    reached: Vec<bool>,
    times: Vec<Option<i128>>,
    touch: Option<String>,
}

fn progress(
    events: &[&Event],
    steps: &[Step],
    within: i128,
    key: Option<&str>,
) -> Option<Progress> {
    // The user's events of some step, in the funnel's order: by time, then by the first step
    // matched, then by the steps matched as a binary number.
    let mut rows: Vec<(i128, Vec<bool>, &Event)> = events
        .iter()
        .map(|e| {
            (
                micros(e.time()),
                steps.iter().map(|s| s.matches(e)).collect(),
                *e,
            )
        })
        .filter(|(_, m, _): &(i128, Vec<bool>, &Event)| m.iter().any(|&b| b))
        .collect();
    let rank = |m: &[bool]| m.iter().position(|&b| b);
    let mask = |m: &[bool]| m.iter().rev().fold(0u32, |acc, &b| acc * 2 + u32::from(b));
    rows.sort_by_key(|r| (r.0, rank(&r.1), mask(&r.1)));
    let first = rows.iter().filter(|r| r.1[0]).map(|r| r.0).min()?;
    // starts[i][m]: the starts of every chain ending at row i as step m + 1.
    let mut starts: Vec<Vec<BTreeSet<i128>>> = Vec::new();
    for (i, (t, m, _)) in rows.iter().enumerate() {
        let mut here = vec![BTreeSet::new(); steps.len()];
        for k in 0..steps.len() {
            if !m[k] {
                continue;
            }
            if k == 0 {
                here[0].insert(*t);
                continue;
            }
            for before in &starts[..i] {
                here[k].extend(before[k - 1].iter().filter(|&&s| t - s <= within));
            }
        }
        starts.push(here);
    }
    let mut reached = vec![true];
    let mut times = vec![None];
    for k in 1..steps.len() {
        let Some(j) = (0..rows.len()).find(|&j| !starts[j][k].is_empty()) else {
            reached.push(false);
            times.push(None);
            continue;
        };
        // On the chain with the latest start, from its latest step-k event.
        let latest = *starts[j][k].last().expect("not empty");
        let from = (0..j)
            .rev()
            .find(|&i| starts[i][k - 1].contains(&latest))
            .expect("a chain has a step before");
        reached.push(true);
        times.push(Some(rows[j].0 - rows[from].0));
    }
    let touch = key.and_then(|key| {
        rows.iter()
            .filter(|r| r.1[0] && r.0 == first)
            .map(|r| text(r.2, key).map_or_else(|| "~".to_owned(), |v| format!("={v}")))
            .min()
            .and_then(|v| v.strip_prefix('=').map(str::to_owned))
    });
    Some(Progress {
        reached,
        times,
        touch,
    })
}

fn report_steps(steps: &[Step], users: &[&Progress]) -> Vec<FunnelStep> {
    let counts: Vec<u64> = (0..steps.len())
        .map(|k| users.iter().filter(|p| p.reached[k]).count() as u64)
        .collect();
    let share = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
    (0..steps.len())
        .map(|k| FunnelStep {
            event: steps[k].event.clone(),
            users: counts[k],
            from_previous: k.checked_sub(1).and_then(|b| share(counts[k], counts[b])),
            from_first: share(counts[k], counts[0]),
            median_time: median(users.iter().filter_map(|p| p.times[k]).collect()),
        })
        .collect()
}

/// The funnel's answer, plainly.
pub(crate) fn funnel(
    users: &BTreeMap<&str, Vec<&Event>>,
    steps: &[Step],
    within: Duration,
    breakdown: Option<&str>,
) -> FunnelReport {
    let within = i128::from(within.as_secs()) * 1_000_000;
    let all: Vec<Progress> = users
        .values()
        .filter_map(|events| progress(events, steps, within, breakdown))
        .collect();
    let everyone: Vec<&Progress> = all.iter().collect();
    let mut groups = Vec::new();
    if breakdown.is_some() {
        let mut by_value: BTreeMap<Option<String>, Vec<&Progress>> = BTreeMap::new();
        for p in &all {
            by_value.entry(p.touch.clone()).or_default().push(p);
        }
        groups = by_value
            .into_iter()
            .map(|(value, users)| FunnelGroup {
                value,
                steps: report_steps(steps, &users),
            })
            .collect();
        groups.sort_by(|a, b| {
            b.steps[0]
                .users
                .cmp(&a.steps[0].users)
                .then_with(|| a.value.is_none().cmp(&b.value.is_none()))
                .then_with(|| a.value.cmp(&b.value))
        });
    }
    FunnelReport {
        steps: report_steps(steps, &everyone),
        groups,
    }
}

/// The period's number of `date` counted from the calendar epoch (any fixed origin will do).
fn period_of(date: Date, period: Period) -> i64 {
    match period {
        Period::Day => i64::from(date.to_julian_day()),
        // Julian day 0 was a Monday; weeks start on Sunday.
        Period::Week => (i64::from(date.to_julian_day()) + 1).div_euclid(7),
        _ => i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1,
    }
}

/// The first instant of the period numbered `n`.
fn period_start(n: i64, period: Period) -> OffsetDateTime {
    let date = match period {
        Period::Day => Date::from_julian_day(n as i32).expect("a date"),
        Period::Week => Date::from_julian_day((n * 7 - 1) as i32).expect("a date"),
        _ => Date::from_calendar_date(
            n.div_euclid(12) as i32,
            Month::try_from((n.rem_euclid(12) + 1) as u8).expect("a month"),
            1,
        )
        .expect("a date"),
    };
    date.midnight().assume_utc()
}

/// The retention answer, plainly: `end` is the window's end (`None`: all time).
pub(crate) fn retention(
    users: &BTreeMap<&str, Vec<&Event>>,
    start: &Step,
    back: &Step,
    period: Period,
    end: Option<OffsetDateTime>,
) -> RetentionReport {
    // By cohort: its members, and the members back in each period.
    let mut cohorts: BTreeMap<i64, (u64, BTreeMap<i64, BTreeSet<&str>>)> = BTreeMap::new();
    for (user, events) in users {
        let Some(first) = events
            .iter()
            .filter(|e| start.matches(e))
            .map(|e| e.time())
            .min()
        else {
            continue;
        };
        let cohort = period_of(first.date(), period);
        let slot = cohorts.entry(cohort).or_default();
        slot.0 += 1;
        for e in events
            .iter()
            .filter(|e| back.matches(e) && e.time() >= first)
        {
            let p = period_of(e.time().date(), period) - cohort;
            slot.1.entry(p).or_default().insert(user);
        }
    }
    let last = match end {
        Some(end) => Some(period_of((end - time::Duration::NANOSECOND).date(), period)),
        None => cohorts
            .iter()
            .map(|(c, (_, back))| c + back.keys().next_back().copied().unwrap_or(0))
            .max(),
    };
    RetentionReport {
        period,
        cohorts: cohorts
            .into_iter()
            .map(|(cohort, (size, back))| {
                let to = last.map_or(0, |l| l - cohort).max(0);
                Cohort {
                    start: period_start(cohort, period),
                    size,
                    periods: (0..=to)
                        .map(|p| {
                            let users = back.get(&p).map_or(0, |u| u.len() as u64);
                            Retained {
                                users,
                                percent: users as f64 * 100.0 / size as f64,
                            }
                        })
                        .collect(),
                }
            })
            .collect(),
    }
}
