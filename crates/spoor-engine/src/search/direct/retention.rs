//! The retention of `spoor_spl::build::retention`, answered from one index's columns.
//!
//! # The shape taken
//!
//! After the search of one index whose times are sorted (and the `where`s the filters add), the
//! commands are exactly those the builder writes for some start step, return step and period
//! (day, week or month): the steps are read back from `spoor_start` and `period`, the period
//! from the snap of `cohort`, the builder is asked for the question's query again, and its
//! commands must equal the query's. Anything else goes the generic way.
//!
//! # Why it is the generic answer
//!
//! The generic path gives each user (rows without `distinct_id` get no `spoor_first` and are
//! dropped) the time of their first start row, `spoor_first` (a `min` of the start rows'
//! `_time`, the first of them in time order), keeps the rows of users who have one, and puts
//! each row in the group (cohort, period): `cohort` the snap of `spoor_first`; `period` the
//! rounded number of periods from the cohort to the snap of the row's `_time` when the row is a
//! return at or after `spoor_first`, else `-1` when the row is at `spoor_first`, else none. The
//! answer counts the distinct users of each group, and each cohort's members (`size`).
//!
//! Here the snap of `_time` is evaluated by the engine's own `relative_time` (the query's own
//! expression) at a few rows only: the snap never goes down as time goes on, so over the
//! window's sorted rows it is runs of one value each, found by binary search ([`Runs`]); the
//! period number of a cohort and a run is the query's own `round(…)` evaluated once for that
//! pair, with a row of the run as `_time` and the cohort as it prints. Per user, one pass over
//! the window finds the first start row (the first half's wins), a second sets, in a bitset of
//! the user's, the runs (from the cohort's) in which they returned, and whether a row of theirs
//! is at `spoor_first` without being a return (period `-1`); `_time` is compared as the `f64`
//! `micros / 10⁶` that expressions read, with `spoor_first` the same number (printed and read
//! back, a number is itself). Users are then counted per cohort and per (cohort, run); the
//! groups are labelled as the generic path prints them and come in byte order. Two runs of one
//! cohort that gave the same period number (which the rounding of the builder's periods never
//! does) would have to merge their users: that case goes the generic way.
//!
//! Two threads: each pass over the window is made in two halves.

use std::borrow::Cow;
use std::ops::Range;

use spoor_event::field::DISTINCT_ID;
use spoor_spl::ast::{Command, EvalFunction, Expr, LogicOp, Stats};
use spoor_spl::build::{self, Period, Retention};
use spoor_spl::modifier::Snap;
use time::Weekday;

use crate::columns::Columns;
use crate::search::expr::{Row, Value};
use crate::search::filter::window_bounds;
use crate::search::frame::{Col, Frame};
use crate::search::halves::in_halves;
use crate::search::text::format_number;
use crate::search::{SearchError, Window};

use super::steps::{Masks, PASSES, Part, Search, built, leading_wheres, offset, step_of};

/// The most words the users' bitsets may take (on each of two threads).
const MAX_WORDS: usize = 1 << 24;

/// The retention's answer, when `commands` (after `search`) are a retention's; `None`
/// otherwise.
pub(super) fn answer<'a>(
    search: &Search<'a, '_, '_>,
    commands: &[Command],
) -> Option<Result<Frame<'a>, SearchError>> {
    let (columns, range, window) = (search.columns, &search.rows, search.window);
    let shape = Shape::of(commands)?;
    let masks = Masks::new(
        columns,
        search.filter,
        &shape.wheres,
        &[shape.start, shape.back],
    )?;
    let runs = Runs::of(columns, range, shape.snap)?;
    let Some(users) = columns.column(DISTINCT_ID) else {
        return Some(Ok(shape.output(&[], window)));
    };
    let n_users = users.dict.len() + 1;
    // Each user's first start row.
    let firsts = in_halves(range.len(), |half| {
        let mut first = vec![u32::MAX; n_users];
        masks.scan(
            offset(range, half),
            START,
            users,
            Part::ALL,
            None,
            |row, _, user, _| {
                if first[user as usize] == u32::MAX {
                    first[user as usize] = row as u32;
                }
            },
        );
        first
    });
    let first: Vec<u32> = firsts
        .into_iter()
        .reduce(|mut a, b| {
            for (a, b) in a.iter_mut().zip(b) {
                if *a == u32::MAX {
                    *a = b;
                }
            }
            a
        })
        .unwrap_or_default();
    let seconds = |row: usize| columns.times[row] as f64 / 1_000_000.0;
    let first_time: Vec<f64> = first
        .iter()
        .map(|&r| {
            if r == u32::MAX {
                f64::NAN
            } else {
                seconds(r as usize)
            }
        })
        .collect();
    let first_run: Vec<u32> = first
        .iter()
        .map(|&r| {
            if r == u32::MAX {
                0
            } else {
                runs.of_row(r as usize) as u32
            }
        })
        .collect();
    // Bit 0: a row at the first start that is no return; bit 1 + j: a return in the `j`th run
    // from the cohort's.
    let words = (runs.starts.len() + 1).div_ceil(64);
    if words.saturating_mul(n_users) > MAX_WORDS {
        return None;
    }
    let bits = in_halves(range.len(), |half| {
        let rows = offset(range, half);
        let mut bits = vec![0u64; words * n_users];
        let mut run = runs.of_row(rows.start);
        masks.scan(
            rows,
            PASSES,
            users,
            Part::ALL,
            None,
            |row, mask, user, _| {
                let user = user as usize;
                let first = first_time[user];
                if first.is_nan() {
                    return;
                }
                let time = seconds(row);
                let bit = if mask & BACK != 0 && time >= first {
                    while runs.starts.get(run + 1).is_some_and(|&s| s <= row) {
                        run += 1;
                    }
                    1 + run - first_run[user] as usize
                } else if time == first {
                    0
                } else {
                    return;
                };
                bits[user * words + bit / 64] |= 1 << (bit % 64);
            },
        );
        bits
    })
    .into_iter()
    .reduce(|mut a, b| {
        a.iter_mut().zip(b).for_each(|(a, b)| *a |= b);
        a
    })
    .unwrap_or_default();
    // Members and returns by cohort (its run), and by run from the cohort's.
    let mut cohorts: Vec<Option<Cohort>> = (0..runs.starts.len()).map(|_| None).collect();
    for user in 1..n_users {
        if first[user] == u32::MAX {
            continue;
        }
        let cohort = cohorts[first_run[user] as usize].get_or_insert_with(|| Cohort {
            size: 0,
            users: vec![0; words * 64],
        });
        cohort.size += 1;
        for (w, &word) in bits[user * words..(user + 1) * words].iter().enumerate() {
            let mut word = word;
            while word != 0 {
                cohort.users[w * 64 + word.trailing_zeros() as usize] += 1;
                word &= word - 1;
            }
        }
    }
    let mut groups = Vec::new();
    for (run, cohort) in cohorts.iter().enumerate() {
        let Some(cohort) = cohort else { continue };
        let label = format_number(runs.values[run]);
        let mut periods: Vec<String> = Vec::new();
        for (bit, &users) in cohort.users.iter().enumerate() {
            if users == 0 {
                continue;
            }
            let period = if bit == 0 {
                Some(format_number(-1.0))
            } else {
                let at = runs.starts[run + bit - 1];
                shape.period_of(columns.times[at], &label)
            };
            // A period number no row has: the rows are in no group.
            let Some(period) = period else { continue };
            if periods.contains(&period) {
                return None;
            }
            periods.push(period.clone());
            groups.push((label.clone(), period, users, cohort.size));
        }
    }
    groups.sort_by(|a, b| (a.0.as_bytes(), a.1.as_bytes()).cmp(&(b.0.as_bytes(), b.1.as_bytes())));
    Some(Ok(shape.output(&groups, window)))
}

/// The start step's bit in a row's mask.
const START: u16 = 1;
/// The return step's bit.
const BACK: u16 = 2;

struct Cohort {
    size: u64,
    /// The users of each bit of the users' bitsets.
    users: Vec<u64>,
}

/// Whether `commands` are the builder's (for the tests: the query goes this way over an index of
/// sorted times).
#[cfg(test)]
pub(super) fn recognises(commands: &[Command]) -> bool {
    Shape::of(commands).is_some()
}

/// The retention a query asks.
struct Shape<'q> {
    wheres: Vec<&'q Expr>,
    start: &'q Expr,
    back: &'q Expr,
    /// `relative_time(_time, <snap>)`.
    snap: &'q Expr,
    /// The period number, `round((relative_time(_time, …) - cohort) / …)`.
    period: &'q Expr,
    totals: &'q Stats,
}

impl<'q> Shape<'q> {
    fn of(commands: &'q [Command]) -> Option<Self> {
        let (wheres, commands) = leading_wheres(commands);
        let assignment = |i: usize| match commands.get(i)? {
            Command::Eval(eval) => eval.assignments.first().map(|a| &a.value),
            _ => None,
        };
        let condition = |expr: &'q Expr| match expr {
            Expr::Call {
                function: EvalFunction::If,
                args,
            } => args.first(),
            _ => None,
        };
        // `spoor_start=if(S, _time, null())`.
        let start = condition(assignment(0)?)?;
        // `cohort=relative_time(spoor_first, "@…")`.
        let Expr::RelativeTime { modifier, .. } = assignment(3)? else {
            return None;
        };
        let period = match modifier.snap? {
            Snap::Day => Period::Day,
            Snap::Week(Weekday::Sunday) => Period::Week,
            Snap::Month => Period::Month,
            _ => return None,
        };
        // `period=if(R AND _time>=spoor_first, round(…), if(…))`.
        let number = assignment(5)?;
        let Some(Expr::Logic {
            op: LogicOp::And,
            operands,
        }) = condition(number)
        else {
            return None;
        };
        let back = operands.first()?;
        let Expr::Call { args, .. } = number else {
            return None;
        };
        let question = Retention {
            start: step_of(start)?,
            back: step_of(back)?,
            period,
        };
        let totals = built(commands, |index, any| {
            build::retention(index, "spoor", &question, &[], any)
        })?;
        Some(Self {
            wheres,
            start,
            back,
            snap: snap_of(args.get(1)?)?,
            period: args.get(1)?,
            totals,
        })
    }

    /// The period number of a row at `time` (µs) of the cohort `cohort` (as it prints), as
    /// the query computes it; `None` when it has none.
    fn period_of(&self, time: i64, cohort: &str) -> Option<String> {
        let frame = Frame {
            len: 1,
            times: Some(vec![time]),
            cols: vec![
                Col::from_values("_time", [Some("")]),
                Col::from_values("cohort", [Some(cohort)]),
            ],
            ..Frame::default()
        };
        let value = (Row {
            frame: &frame,
            row: 0,
        })
        .eval(self.period)
        .ok()?;
        value.as_text().map(Cow::into_owned)
    }

    /// The last `stats`'s rows: `(cohort, period, users, size)` in order.
    fn output<'a>(&self, groups: &[(String, String, u64, u64)], window: &Window) -> Frame<'a> {
        let mut cols = Vec::new();
        for (i, field) in self.totals.by.iter().enumerate() {
            cols.push(Col::from_values(
                field.as_str(),
                groups
                    .iter()
                    .map(|g| Some(if i == 0 { g.0.as_str() } else { g.1.as_str() })),
            ));
        }
        for (i, aggregation) in self.totals.aggregations.iter().enumerate() {
            cols.push(Col::from_values(
                aggregation.output_name(),
                groups.iter().map(|g| {
                    Some(if i == 0 {
                        g.2.to_string()
                    } else {
                        format_number(g.3 as f64)
                    })
                }),
            ));
        }
        Frame {
            len: groups.len(),
            times: None,
            window: window_bounds(window),
            cols,
        }
    }
}

/// The `relative_time(_time, …)` in `expr`.
fn snap_of(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::RelativeTime { time, .. } => {
            matches!(&**time, Expr::Field(f) if f.as_str() == "_time").then_some(expr)
        }
        Expr::Unary { operand, .. } => snap_of(operand),
        Expr::Binary { left, right, .. } => snap_of(left).or_else(|| snap_of(right)),
        Expr::Logic { operands: args, .. } | Expr::Call { args, .. } => {
            args.iter().find_map(snap_of)
        }
        Expr::Number(_) | Expr::String(_) | Expr::Field(_) => None,
    }
}

/// The window's rows in runs of one snapped time.
struct Runs {
    /// The first row of each run, ascending.
    starts: Vec<usize>,
    /// Each run's snapped time (epoch seconds), ascending.
    values: Vec<f64>,
}

impl Runs {
    /// The runs of `range` (rows of sorted times) under `snap`; `None` when a row has no
    /// snapped time (outside the years 0000 to 9999) or the snaps go down.
    fn of(columns: &Columns, range: &Range<usize>, snap: &Expr) -> Option<Self> {
        let at = |row: usize| -> Option<f64> {
            let frame = Frame {
                len: 1,
                times: Some(vec![columns.times[row]]),
                cols: vec![Col::from_values("_time", [Some("")])],
                ..Frame::default()
            };
            match (Row {
                frame: &frame,
                row: 0,
            })
            .eval(snap)
            {
                Ok(Value::Number(x)) => Some(x),
                _ => None,
            }
        };
        let (mut starts, mut values) = (Vec::new(), Vec::new());
        let mut row = range.start;
        while row < range.end {
            let value = at(row)?;
            if values.last().is_some_and(|&last| last >= value) {
                return None;
            }
            starts.push(row);
            values.push(value);
            // The run ends before the first row whose snap differs: gallop, then bisect.
            let (mut lo, mut step) = (row, 1usize);
            let mut hi = loop {
                let probe = lo.saturating_add(step);
                if probe >= range.end {
                    break range.end;
                }
                if at(probe)? != value {
                    break probe;
                }
                lo = probe;
                step = step.saturating_mul(2);
            };
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if at(mid)? == value {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            row = hi;
        }
        Some(Self { starts, values })
    }

    /// The run of `row`.
    fn of_row(&self, row: usize) -> usize {
        self.starts.partition_point(|&s| s <= row).saturating_sub(1)
    }
}
