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
//! The generic path gives each row the first step it matches (`spoor_rank`) and the set of steps
//! it matches (`spoor_mask`), keeps the rows of some step, sorts them by time, rank and mask
//! (rows equal on all three match the same steps, so their order changes nothing), then runs, per user (`by distinct_id`; rows
//! without one are in no group and dropped by `stats … by distinct_id`), one `streamstats` a
//! step: `spoor_c{k}` is the running `max` of `spoor_s{k}` over the user's earlier rows,
//! `spoor_p{k}` that of `spoor_t{k}`. Here the rows of the window that pass the search and some
//! step ([`Masks`]: every condition decided once per code) are read once, in row order (so in
//! time order: the index's times are sorted), the rows of one instant put in rank and mask
//! order when they are not, and each
//! row updates its user's state by the same recurrence, with the same numbers: `_time` as
//! `micros / 10⁶` in `f64` (what expressions read), `_time - spoor_c{k-1} <= W` and the times
//! to each step as the same subtractions. Every value the generic path carries from one
//! command to the next is a number printed in its shortest round-trip form and read back, so
//! carrying the `f64` itself is the same. Per user: whether a step-1 row came
//! (`count(spoor_s1)>0`), the first `spoor_d{k}` in that order, and the breakdown: the least,
//! byte-wise, of the `spoor_b` of the step-1 rows at the user's first step-1 instant (`=value`,
//! or `~` without the property, after every value: `min(spoor_b)`); the users with a step-1 row
//! are then counted per breakdown value (groups in byte order) with the counts of `spoor_d{k}`
//! and their medians (the same nearest-rank percentile), and, with a breakdown, the median over
//! every user in each group's row (`eventstats median(spoor_d{k}) as spoor_a{k}`, then
//! `max(spoor_a{k})`), printed as `stats` prints them. Without a breakdown there is one row, as
//! `stats` without `by` gives.
//!
//! Two threads, each reading the whole window for half the users (even and odd codes): a user's
//! rows must be run in order, and the state of 100,000 users (`3n − 4` numbers each) stays in
//! the caches, where a sort of the rows by user would move every row once more.

use std::time::Duration;

use spoor_event::Key;
use spoor_event::field::{DISTINCT_ID, PROPERTY_PREFIX};
use spoor_spl::ast::{Aggregate, BinaryOp, Command, EvalFunction, Expr, Function, LogicOp, Stats};
use spoor_spl::build::{self, Funnel};

use crate::columns::Column;
use crate::hash::FxHashMap;
use crate::search::aggregate::percentile;
use crate::search::filter::window_bounds;
use crate::search::frame::{Col, Frame};
use crate::search::halves::in_halves;
use crate::search::text::format_number;
use crate::search::{SearchError, Window};

use super::steps::{Masks, Part, Search, built, leading_wheres, step_of};

/// The funnel's answer, when `commands` (after `search`) are a funnel's; `None` otherwise.
pub(super) fn answer<'a>(
    search: &Search<'a, '_, '_>,
    commands: &[Command],
) -> Option<Result<Frame<'a>, SearchError>> {
    let (columns, range, window) = (search.columns, &search.rows, search.window);
    let shape = Shape::of(commands)?;
    let masks = Masks::new(columns, search.filter, &shape.wheres, &shape.conditions)?;
    let breakdown = shape
        .breakdown
        .as_ref()
        .and_then(|key| columns.column(&key.field_name()));
    let n = shape.conditions.len();
    let steps = (1u16 << n) - 1;
    let order = breakdown.map(byte_order).unwrap_or_default();
    let tally = match columns.column(DISTINCT_ID) {
        // Two threads, each over the whole window for half the users.
        Some(users) => in_halves(range.len(), |half| {
            let part = Part::of(&half, range.len());
            let mut run = Run::new(n, shape.within, part.slots(users.dict.len() + 1), &order);
            let mut instant: Vec<StepRow> = Vec::new();
            let each = |row: usize, mask: u16, user: u32, code: u32| {
                let time = columns.times[row];
                if instant.last().is_some_and(|r| r.time != time) {
                    run.instant(&mut instant);
                }
                instant.push(StepRow {
                    time,
                    user: part.slot(user),
                    code,
                    mask,
                });
            };
            masks.scan(range.clone(), steps, users, part, breakdown, each);
            run.instant(&mut instant);
            run.tally()
        })
        .into_iter()
        .reduce(Tally::merge)
        .unwrap_or_default(),
        None => Tally::default(),
    };
    Some(Ok(output(&shape, &tally, breakdown, window)))
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
        // `spoor_b=if(C1 AND (isnull(spoor_m1) OR spoor_m1=_time), if(isnull(P), "~", "=" . P),
        // null())`, beside `spoor_s2`.
        let breakdown = match assignment(commands.get(5)?, 1) {
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

/// One row of a step: its time, user (its slot among the thread's users), breakdown code and
/// the steps it matches.
#[derive(Debug, Clone, Copy)]
struct StepRow {
    time: i64,
    user: u32,
    code: u32,
    mask: u16,
}

impl StepRow {
    /// The first step it matches, from 0.
    fn rank(self) -> u32 {
        self.mask.trailing_zeros()
    }
}

/// The recurrence's state for each user: the running maxima of `spoor_s{k}` (the latest start
/// of a chain at step `k`, `k < n`) and of `spoor_t{k}` (`1 < k < n`), and the first
/// `spoor_d{k}` (`k > 1`), `NaN` for none; and the breakdown: the least code (by `order`) of
/// the step-1 rows at the user's first step-1 instant.
struct Run<'o> {
    n: usize,
    within: f64,
    /// `3n − 4` numbers a user: starts from step 1, reached from step 2, firsts from step 2.
    state: Vec<f64>,
    /// `u32::MAX` until the user's first step-1 row.
    codes: Vec<u32>,
    /// The time of the user's first step-1 row.
    first_times: Vec<i64>,
    /// The breakdown's codes ranked (see [`byte_order`]); empty without a breakdown.
    order: &'o [u32],
}

impl<'o> Run<'o> {
    fn new(n: usize, within: f64, users: usize, order: &'o [u32]) -> Self {
        Self {
            n,
            within,
            state: vec![f64::NAN; users * (3 * n - 4)],
            codes: vec![u32::MAX; users],
            first_times: vec![0; users],
            order,
        }
    }

    /// Runs the rows of one instant: in the order of the first step they match, then of the
    /// set of steps they match, then in row order (a stable sort), as `sort 0 _time,
    /// spoor_rank, spoor_mask` leaves them (rows equal on all three are interchangeable).
    fn instant(&mut self, rows: &mut Vec<StepRow>) {
        let key = |r: &StepRow| (r.rank(), r.mask);
        if rows.windows(2).any(|w| key(&w[0]) > key(&w[1])) {
            rows.sort_by_key(key);
        }
        for &row in rows.iter() {
            self.row(row);
        }
        rows.clear();
    }

    /// One row of a step: what `eval` and `streamstats` give it, and the user's state after.
    fn row(&mut self, row: StepRow) {
        let n = self.n;
        let stride = 3 * n - 4;
        let user = row.user as usize;
        if row.mask & 1 != 0 {
            // The breakdown: the least value at the first step-1 instant (`min(spoor_b)`).
            let current = self.codes[user];
            let rank = |code: u32| self.order.get(code as usize).copied().unwrap_or(u32::MAX);
            if current == u32::MAX {
                self.codes[user] = row.code;
                self.first_times[user] = row.time;
            } else if self.first_times[user] == row.time && rank(row.code) < rank(current) {
                self.codes[user] = row.code;
            }
        }
        let state = &mut self.state[user * stride..(user + 1) * stride];
        let (starts, rest) = state.split_at_mut(n - 1);
        let (reached, firsts) = rest.split_at_mut(n - 2);
        let time = row.time as f64 / 1_000_000.0;
        // `spoor_s{k}` of this row, from the state before it.
        let mut s = [f64::NAN; 11];
        if row.mask & 1 != 0 {
            s[1] = time;
        }
        for k in 2..=n {
            let start = starts[k - 2];
            if row.mask >> (k - 1) & 1 == 0 || start.is_nan() {
                continue;
            }
            if finite(time - start).is_some_and(|d| d <= self.within) {
                s[k] = start;
                if firsts[k - 2].is_nan() {
                    let before = if k == 2 { starts[0] } else { reached[k - 3] };
                    if let Some(d) = finite(time - before) {
                        firsts[k - 2] = d;
                    }
                }
            }
        }
        for k in 1..n {
            // `f64::max` takes the number over a NaN.
            starts[k - 1] = starts[k - 1].max(s[k]);
            if k >= 2 && !s[k].is_nan() {
                reached[k - 2] = reached[k - 2].max(time);
            }
        }
    }

    /// The users who did step 1, by breakdown code.
    fn tally(&self) -> Tally {
        let stride = 3 * self.n - 4;
        let mut tally = Tally::default();
        for (user, &code) in self.codes.iter().enumerate() {
            if code == u32::MAX {
                continue;
            }
            let group = tally.groups.entry(code).or_default();
            group.users += 1;
            let firsts = &self.state[user * stride + 2 * self.n - 3..(user + 1) * stride];
            for (k, &d) in (2..).zip(firsts) {
                if !d.is_nan() {
                    group.reached[k] += 1;
                    group.times[k].push(d);
                }
            }
        }
        tally
    }
}

/// Each code of `column` ranked by its value's bytes (`min` of the `=value` strings); code 0, no
/// value (`~`, after every `=`), last.
fn byte_order(column: &Column) -> Vec<u32> {
    let len = u32::try_from(column.dict.len()).unwrap_or(u32::MAX);
    let mut codes: Vec<u32> = (1..=len).collect();
    codes.sort_by(|a, b| {
        column
            .dict
            .get(*a)
            .as_bytes()
            .cmp(column.dict.get(*b).as_bytes())
    });
    let mut order = vec![u32::MAX; codes.len() + 1];
    for (rank, code) in codes.into_iter().enumerate() {
        order[code as usize] = u32::try_from(rank).unwrap_or(u32::MAX);
    }
    order
}

/// `a - b` as expressions give it: a number only when finite.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
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
                    (0, _) | (_, None) => build::funnel::UNTOUCHED.to_owned(),
                    (code, Some(column)) => {
                        format!("{}{}", build::funnel::TOUCHED, column.dict.get(code))
                    }
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
    // The medians over every user (`eventstats median(spoor_d{k}) as spoor_a{k}`, then
    // `max(spoor_a{k})` in each group: the same number in all).
    let mut everyone: [Vec<f64>; 11] = Default::default();
    for (_, group) in &groups {
        for (all, times) in everyone.iter_mut().zip(&group.times) {
            all.extend_from_slice(times);
        }
    }
    for aggregation in &shape.totals.aggregations {
        let step = |field: &str| -> usize {
            field
                .strip_prefix("spoor_d")
                .or_else(|| field.strip_prefix("spoor_a"))
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
                Aggregate::Apply {
                    function: Function::Max,
                    field,
                } => percentile(&everyone[step(field.as_str())], 50.0).map(format_number),
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
