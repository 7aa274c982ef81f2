//! The funnel of `spoor_spl::build::funnel`, answered from one index's columns.
//!
//! # The shape taken
//!
//! After the search of one index whose times are sorted (and the `where`s the filters add), the
//! commands are exactly those the builder writes for some steps (2 to 10, each an event and
//! property filters as `Filter::expr` writes them), a conversion window and an optional
//! breakdown: the steps are read back from the `case` of `spoor_rank`, the window from
//! `spoor_s2`, the breakdown from `spoor_b`, the builder is asked for the funnel's query
//! again, and its commands must equal the query's. Anything else goes the generic way.
//!
//! # Why it is the generic answer
//!
//! The generic path gives each row the first step it matches (`spoor_rank`), keeps the rows of
//! some step, sorts them by time then rank (stably: in the order the search gives them, which
//! is the rows' order for events of one time), then runs, per user (`by distinct_id`; rows
//! without one are in no group and dropped by `stats … by distinct_id`), one `streamstats` a
//! step: `spoor_c{k}` is the running `max` of `spoor_s{k}` over the user's earlier rows,
//! `spoor_p{k}` that of `spoor_t{k}`. Here the rows of the window that pass the search and some
//! step ([`Masks`]: every condition decided once per code) are grouped by user with a counting
//! sort (rows stay in row order, so in time order), a user's rows of one instant are put in
//! rank order when they are not, and the same recurrence is run over them with the same
//! numbers: `_time` as `micros / 10⁶` in `f64` (what expressions read), `_time - spoor_c{k-1}
//! <= W` and the times to each step as the same subtractions. Every value the generic path
//! carries from one command to the next is a number printed in its shortest round-trip form
//! and read back, so carrying the `f64` itself is the same. Per user: `count(spoor_s1)`, the
//! first `spoor_d{k}` in row order, and the breakdown of the first step-1 row; the users with a
//! step-1 row are then counted per breakdown value (`+value`, or `-` without the property,
//! groups in byte order) with the counts of `spoor_d{k}` and their medians (the same nearest-
//! rank percentile), printed as `stats` prints them. Without a breakdown there is one row,
//! as `stats` without `by` gives.
//!
//! Two threads: the window's two halves are counted and placed by user, then the users split
//! in two halves of about as many rows.

use std::ops::Range;
use std::time::Duration;

use spoor_event::Key;
use spoor_event::field::{DISTINCT_ID, PROPERTY_PREFIX};
use spoor_spl::ast::{Aggregate, BinaryOp, Command, EvalFunction, Expr, Function, LogicOp, Stats};
use spoor_spl::build::{self, Funnel};

use crate::columns::{Column, Columns};
use crate::hash::FxHashMap;
use crate::search::aggregate::percentile;
use crate::search::filter::window_bounds;
use crate::search::frame::{Col, Frame};
use crate::search::halves::in_halves;
use crate::search::text::format_number;
use crate::search::{SearchError, Window};

use super::steps::{Masks, Search, built, leading_wheres, offset, step_of};

/// The funnel's answer, when `commands` (after `search`) are a funnel's; `None` otherwise.
pub(super) fn answer<'a>(
    search: &Search<'a, '_, '_>,
    commands: &[Command],
) -> Option<Result<Frame<'a>, SearchError>> {
    let (columns, range, window) = (search.columns, &search.rows, search.window);
    let shape = Shape::of(commands)?;
    let masks = Masks::new(columns, search.filter, &shape.wheres, &shape.conditions)?;
    let users = columns.column(DISTINCT_ID);
    let breakdown = shape
        .breakdown
        .as_ref()
        .map(|key| columns.column(&key.field_name()));
    let placed = match users {
        Some(users) => in_halves(range.len(), |half| {
            Placed::new(
                columns,
                &masks,
                users,
                breakdown.flatten(),
                offset(range, half),
            )
        }),
        None => Vec::new(),
    };
    let run = Run {
        steps: shape.conditions.len(),
        within: shape.within,
        placed: &placed,
    };
    let users = users.map_or(0, |u| u.dict.len());
    // Each user's rows in both halves, and the users split where half the rows are before.
    let before: Vec<usize> = std::iter::once(0)
        .chain((1..=users).scan(0usize, |n, user| {
            *n += placed.iter().map(|p| p.rows(user).len()).sum::<usize>();
            Some(*n)
        }))
        .collect();
    let total = before.last().copied().unwrap_or(0);
    let tally = in_halves(total, |half| {
        // User `u`'s rows are `before[u - 1]..before[u]`.
        let first = before.partition_point(|&n| n < half.start) + 1;
        let last = before.partition_point(|&n| n < half.end) + 1;
        let mut tally = Tally::default();
        let mut scratch = Vec::new();
        for user in first..last.min(users + 1) {
            run.user(user, &mut scratch, &mut tally);
        }
        tally
    })
    .into_iter()
    .reduce(Tally::merge)
    .unwrap_or_default();
    let column = breakdown.flatten();
    Some(Ok(output(&shape, &tally, column, window)))
}

/// Whether `commands` are the builder's (for the tests: the query goes this way over an index of
/// sorted times).
#[cfg(test)]
pub(super) fn recognises(commands: &[Command]) -> bool {
    Shape::of(commands).is_some()
}

/// The funnel a query asks.
struct Shape<'q> {
    /// The conditions of the filters' `where`s, every row must pass them.
    wheres: Vec<&'q Expr>,
    /// Each step's condition.
    conditions: Vec<&'q Expr>,
    /// The conversion window, in seconds.
    within: f64,
    breakdown: Option<Key>,
    /// The last `stats`, whose columns the answer has.
    totals: &'q Stats,
}

impl<'q> Shape<'q> {
    fn of(commands: &'q [Command]) -> Option<Self> {
        let (wheres, commands) = leading_wheres(commands);
        let assignment = |c: &'q Command, i: usize| match c {
            Command::Eval(eval) => eval.assignments.get(i).map(|a| &a.value),
            _ => None,
        };
        let Expr::Call {
            function: EvalFunction::Case,
            args,
        } = assignment(commands.first()?, 0)?
        else {
            return None;
        };
        let conditions: Vec<&Expr> = args.iter().step_by(2).collect();
        let steps = conditions
            .iter()
            .map(|c| step_of(c))
            .collect::<Option<Vec<_>>>()?;
        // `spoor_s2=if(C2 AND _time - spoor_c1<=W, spoor_c1, null())`.
        let Expr::Call {
            function: EvalFunction::If,
            args,
        } = assignment(commands.get(5)?, 0)?
        else {
            return None;
        };
        let Some(Expr::Logic {
            op: LogicOp::And,
            operands,
        }) = args.first()
        else {
            return None;
        };
        let Some(Expr::Binary {
            op: BinaryOp::Le,
            right,
            ..
        }) = operands.last()
        else {
            return None;
        };
        let Expr::Number(within) = &**right else {
            return None;
        };
        let within: u64 = within.as_str().parse().ok()?;
        // `spoor_b=if(C1, if(isnull(P), "-", "+" . P), null())`.
        let breakdown = match assignment(commands.get(3)?, 1) {
            None => None,
            Some(Expr::Call {
                function: EvalFunction::If,
                args,
            }) => match args.get(1) {
                Some(Expr::Call {
                    function: EvalFunction::If,
                    args,
                }) => match args.first() {
                    Some(Expr::Call {
                        function: EvalFunction::IsNull,
                        args,
                    }) => match args.as_slice() {
                        [Expr::Field(name)] => {
                            Some(Key::new(name.as_str().strip_prefix(PROPERTY_PREFIX)?).ok()?)
                        }
                        _ => return None,
                    },
                    _ => return None,
                },
                _ => return None,
            },
            Some(_) => return None,
        };
        let mut funnel = Funnel::new(steps, Duration::from_secs(within)).ok()?;
        if let Some(key) = &breakdown {
            funnel = funnel.breakdown(key.clone());
        }
        let totals = built(commands, |index, any| {
            build::funnel(index, "spoor", &funnel, &[], any)
        })?;
        Some(Self {
            wheres,
            conditions,
            within: within as f64,
            breakdown,
            totals,
        })
    }
}

/// One row of a step: its time, the steps it matches, and its breakdown code.
#[derive(Debug, Clone, Copy)]
struct StepRow {
    time: i64,
    code: u32,
    mask: u16,
}

impl StepRow {
    /// The first step it matches, from 0.
    fn rank(self) -> u32 {
        (self.mask & !super::steps::PASSES).trailing_zeros()
    }
}

/// The rows of some step of a part of the window, placed by user (a counting sort, so each
/// user's rows stay in row order).
struct Placed {
    /// Where each user's rows start in `rows` (indexed by user code; one more at the end).
    starts: Vec<u32>,
    rows: Vec<StepRow>,
}

impl Placed {
    fn new(
        columns: &Columns,
        masks: &Masks<'_>,
        users: &Column,
        breakdown: Option<&Column>,
        rows: Range<usize>,
    ) -> Self {
        let steps = !super::steps::PASSES;
        let mut starts = vec![0u32; users.dict.len() + 2];
        masks.scan(rows.clone(), users, None, |_, mask, user, _| {
            if mask & steps != 0 {
                starts[user as usize + 1] += 1;
            }
        });
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut placed = vec![
            StepRow {
                time: 0,
                code: 0,
                mask: 0
            };
            starts.last().copied().unwrap_or(0) as usize
        ];
        masks.scan(rows, users, breakdown, |row, mask, user, code| {
            if mask & steps != 0 {
                let at = &mut next[user as usize];
                placed[*at as usize] = StepRow {
                    time: columns.times[row],
                    code,
                    mask,
                };
                *at += 1;
            }
        });
        Self {
            starts,
            rows: placed,
        }
    }

    /// The rows of `user`.
    fn rows(&self, user: usize) -> &[StepRow] {
        &self.rows[self.starts[user] as usize..self.starts[user + 1] as usize]
    }
}

/// The recurrence over each user's rows.
struct Run<'p> {
    steps: usize,
    within: f64,
    placed: &'p [Placed],
}

impl Run<'_> {
    /// Runs user `user`'s rows and adds them to `tally` when the user did step 1.
    fn user(&self, user: usize, scratch: &mut Vec<StepRow>, tally: &mut Tally) {
        scratch.clear();
        for part in self.placed {
            scratch.extend_from_slice(part.rows(user));
        }
        // Rows of one instant in the order of the first step they match (stably).
        if scratch
            .windows(2)
            .any(|w| w[0].time == w[1].time && w[0].rank() > w[1].rank())
        {
            scratch.sort_by_key(|r| (r.time, r.rank()));
        }
        let n = self.steps;
        // Indexed by step from 1: the running maxima of `spoor_s{k}` and `spoor_t{k}`, and
        // the first `spoor_d{k}`.
        let mut starts = [None::<f64>; 11];
        let mut reached = [None::<f64>; 11];
        let mut first = [None::<f64>; 11];
        let (mut did_first, mut code) = (false, 0u32);
        let mut s = [None::<f64>; 11];
        for row in scratch.iter() {
            let time = row.time as f64 / 1_000_000.0;
            s[1] = (row.mask & 1 != 0).then_some(time);
            if s[1].is_some() && !did_first {
                did_first = true;
                code = row.code;
            }
            for k in 2..=n {
                s[k] = match starts[k - 1] {
                    Some(start) if row.mask >> (k - 1) & 1 != 0 => {
                        let since = finite(time - start);
                        since.filter(|&d| d <= self.within).map(|_| start)
                    }
                    _ => None,
                };
                if s[k].is_some() && first[k].is_none() {
                    let before = if k == 2 { starts[1] } else { reached[k - 1] };
                    first[k] = before.and_then(|b| finite(time - b));
                }
            }
            for k in 1..n {
                starts[k] = max(starts[k], s[k]);
                if k >= 2 && s[k].is_some() {
                    reached[k] = max(reached[k], Some(time));
                }
            }
        }
        if !did_first {
            return;
        }
        let group = tally.groups.entry(code).or_default();
        group.users += 1;
        for (k, d) in first.iter().enumerate().take(n + 1).skip(2) {
            if let Some(d) = *d {
                group.reached[k] += 1;
                group.times[k].push(d);
            }
        }
    }
}

/// `a - b` as expressions give it: a number only when finite.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The larger of two optional numbers (a running `max`).
fn max(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The users who did step 1, by breakdown code.
#[derive(Default)]
struct Tally {
    groups: FxHashMap<u32, Group>,
}

#[derive(Default)]
struct Group {
    users: u64,
    /// Indexed by step: the users who reached it, and their times from the step before.
    reached: [u64; 11],
    times: [Vec<f64>; 11],
}

impl Tally {
    fn merge(mut self, other: Self) -> Self {
        for (code, theirs) in other.groups {
            let mine = self.groups.entry(code).or_default();
            mine.users += theirs.users;
            for k in 0..11 {
                mine.reached[k] += theirs.reached[k];
                mine.times[k].extend_from_slice(&theirs.times[k]);
            }
        }
        self
    }
}

/// The last `stats`'s rows: one per breakdown value (in byte order), or one in all.
fn output<'a>(
    shape: &Shape<'_>,
    tally: &Tally,
    breakdown: Option<&Column>,
    window: &Window,
) -> Frame<'a> {
    let empty = Group::default();
    let mut groups: Vec<(Option<String>, &Group)> = match &shape.breakdown {
        None => vec![(None, tally.groups.get(&0).unwrap_or(&empty))],
        Some(_) => tally
            .groups
            .iter()
            .map(|(&code, group)| {
                let value = match (code, breakdown) {
                    (0, _) | (_, None) => "-".to_owned(),
                    (code, Some(column)) => format!("+{}", column.dict.get(code)),
                };
                (Some(value), group)
            })
            .collect(),
    };
    groups.sort_by(|a, b| {
        a.0.as_deref()
            .map(str::as_bytes)
            .cmp(&b.0.as_deref().map(str::as_bytes))
    });
    let mut cols = Vec::new();
    for field in &shape.totals.by {
        cols.push(Col::from_values(
            field.as_str(),
            groups.iter().map(|(value, _)| value.as_deref()),
        ));
    }
    for aggregation in &shape.totals.aggregations {
        let step = |field: &str| -> usize {
            field
                .strip_prefix("spoor_d")
                .and_then(|k| k.parse().ok())
                .unwrap_or(0)
        };
        let values: Vec<Option<String>> = groups
            .iter()
            .map(|(_, group)| match &aggregation.aggregate {
                Aggregate::Count => Some(group.users.to_string()),
                Aggregate::Apply {
                    function: Function::Count,
                    field,
                } => Some(group.reached[step(field.as_str())].to_string()),
                Aggregate::Apply { field, .. } => {
                    percentile(&group.times[step(field.as_str())], 50.0).map(format_number)
                }
            })
            .collect();
        cols.push(Col::from_values(aggregation.output_name(), values));
    }
    Frame {
        len: groups.len(),
        times: None,
        window: window_bounds(window),
        cols,
    }
}
