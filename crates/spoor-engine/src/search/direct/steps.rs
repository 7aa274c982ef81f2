//! What the funnel's and the retention's direct paths share: the steps of a builder's query read
//! back from its conditions, those conditions decided once per code of the columns they read,
//! and the window's rows read block by block as a mask of the conditions each passes.
//!
//! A condition the builders write (`event="signup" AND analytics_prop__plan="pro" AND
//! tonumber(analytics_prop__amount)<10`) is a conjunction whose operands each read one field:
//! its value is true exactly when every operand is true (`AND` is true only when no operand is
//! false or null), so it holds for a row when each operand holds for the row's code in the
//! operand's column. Each operand is evaluated by the engine's own expression evaluator
//! ([`Row::eval`]) once for each value of its column's dictionary (and for no value), so the
//! decision is the generic path's, value for value. An operand that reads no field, or a field
//! the index lacks, is decided once. Anything else (an operand reading two fields, `_time`,
//! `_raw` or `index`; a value that is neither true, false nor null; an error) is not taken, and
//! the query goes the generic way.

use std::borrow::Cow;
use std::ops::Range;

use spoor_event::Key;
use spoor_event::field::{EVENT, PROPERTY_PREFIX};
use spoor_spl::ast::{BinaryOp, Command, EvalFunction, Expr, LogicOp, Stats, UnaryOp};
use spoor_spl::build::{Index, Step, WindowedQuery};
use spoor_spl::filter::{Filter as PropertyFilter, Test};
use spoor_spl::modifier::{TimeModifier, TimeWindow};

use crate::columns::{Column, Columns};
use crate::search::Window;
use crate::search::expr::{Row, Value};
use crate::search::filter::Filter;
use crate::search::frame::{Col, Frame};

/// The search of one index whose times are sorted: its columns, its terms and exact `where`s,
/// the rows of its window, and the window.
pub(super) struct Search<'a, 'f, 'q> {
    pub(super) columns: &'a Columns,
    pub(super) filter: &'f Filter<'a, 'q>,
    pub(super) rows: Range<usize>,
    pub(super) window: &'f Window,
}

/// Rows read at a time.
const BLOCK: usize = 1024;

/// The bit of a row's mask that says it passes the search and its `where`s; bits `0..15` are
/// the steps'.
pub(super) const PASSES: u16 = 1 << 15;

/// The most step conditions a [`Masks`] holds.
pub(super) const MAX_STEPS: usize = 15;

/// The conditions of the `where`s (other than exact string comparisons, which the search's
/// [`Filter`] holds) at the start of `commands`, and the commands after them: the filters a
/// builder writes as an expression (`tonumber(analytics_prop__amount)<10`, `in(…)`).
pub(super) fn leading_wheres(commands: &[Command]) -> (Vec<&Expr>, &[Command]) {
    let n = commands
        .iter()
        .take_while(|c| matches!(c, Command::WhereExpr(_)))
        .count();
    let conditions = commands[..n]
        .iter()
        .filter_map(|c| match c {
            Command::WhereExpr(w) => Some(&w.condition),
            _ => None,
        })
        .collect();
    (conditions, &commands[n..])
}

/// The last `stats` of `commands` when they are exactly the commands a builder writes after
/// its `where` on the application (with no filters), asked with `build` over any index and
/// window (which the commands do not depend on).
pub(super) fn built(
    commands: &[Command],
    build: impl FnOnce(&Index, TimeWindow) -> WindowedQuery,
) -> Option<&Stats> {
    let index = Index::new("spoor").ok()?;
    let built = build(
        &index,
        TimeWindow::new(TimeModifier::Now, TimeModifier::Now),
    );
    if built.query().commands.get(1..)? != commands {
        return None;
    }
    match commands.last() {
        Some(Command::Stats(totals)) => Some(totals),
        _ => None,
    }
}

/// The step whose [`Step::condition`] is `condition`, when it is one: `event="…"`, alone or
/// followed by the [`PropertyFilter::expr`] of each filter. The caller checks the step by
/// building the query again from it and comparing, so a condition read wrong is never taken.
pub(super) fn step_of(condition: &Expr) -> Option<Step> {
    let operands: &[Expr] = match condition {
        Expr::Logic {
            op: LogicOp::And,
            operands,
        } => operands,
        other => std::slice::from_ref(other),
    };
    let (event, filters) = operands.split_first()?;
    let Expr::Binary {
        op: BinaryOp::Eq,
        left,
        right,
    } = event
    else {
        return None;
    };
    let (Expr::Field(field), Expr::String(name)) = (&**left, &**right) else {
        return None;
    };
    if field.as_str() != EVENT {
        return None;
    }
    filters.iter().try_fold(Step::new(name.clone()), |step, f| {
        Some(step.filter(filter_of(f)?))
    })
}

/// The filter whose [`PropertyFilter::expr`] is `expr`, when it is one.
fn filter_of(expr: &Expr) -> Option<PropertyFilter> {
    let key = |e: &Expr| -> Option<Key> {
        let Expr::Field(name) = e else { return None };
        Key::new(name.as_str().strip_prefix(PROPERTY_PREFIX)?).ok()
    };
    let number = |e: &Expr| -> Option<f64> {
        match e {
            Expr::Number(n) => n.as_str().parse().ok(),
            Expr::Unary {
                op: UnaryOp::Negate,
                operand,
            } => match &**operand {
                Expr::Number(n) => n.as_str().parse::<f64>().ok().map(|x| -x),
                _ => None,
            },
            _ => None,
        }
    };
    let filter = match expr {
        Expr::Call { function, args } => match (function, args.as_slice()) {
            (EvalFunction::IsNotNull, [field]) => PropertyFilter::new(key(field)?, Test::Exists),
            (EvalFunction::IsNull, [field]) => PropertyFilter::new(key(field)?, Test::Missing),
            (EvalFunction::In, [field, values @ ..]) => {
                let values = values
                    .iter()
                    .map(|v| match v {
                        Expr::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect::<Option<Vec<String>>>()?;
                PropertyFilter::new(key(field)?, Test::OneOf(values))
            }
            _ => return None,
        },
        Expr::Binary { op, left, right } => match (op, &**left, &**right) {
            (BinaryOp::Eq, field, Expr::String(s)) => {
                PropertyFilter::new(key(field)?, Test::Equals(s.clone()))
            }
            (BinaryOp::Ne, field, Expr::String(s)) => {
                PropertyFilter::new(key(field)?, Test::NotEquals(s.clone()))
            }
            (
                BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge,
                Expr::Call {
                    function: EvalFunction::ToNumber,
                    args,
                },
                n,
            ) => {
                let [field] = args.as_slice() else {
                    return None;
                };
                let n = number(n)?;
                let test = match op {
                    BinaryOp::Lt => Test::Less(n),
                    BinaryOp::Le => Test::AtMost(n),
                    BinaryOp::Gt => Test::Greater(n),
                    _ => Test::AtLeast(n),
                };
                PropertyFilter::new(key(field)?, test)
            }
            _ => return None,
        },
        _ => return None,
    };
    Some(filter)
}

/// Each row's mask: [`PASSES`] when it passes the search and the leading `where`s, and bit `i`
/// when it passes step condition `i`, decided per code of the columns read.
pub(super) struct Masks<'c> {
    /// Each column read, and per code the bits that hold on it (a condition that does not
    /// read the column holds).
    tests: Vec<(&'c Column, Vec<u16>)>,
    /// The bits of the conditions that hold whatever the row.
    constant: u16,
}

impl<'c> Masks<'c> {
    /// The masks of the search's `filter`, the conditions `wheres` every row must pass, and
    /// the step conditions `steps` (at most [`MAX_STEPS`]); `None` when a condition is not
    /// one this path decides.
    pub(super) fn new(
        columns: &'c Columns,
        filter: &Filter<'c, '_>,
        wheres: &[&Expr],
        steps: &[&Expr],
    ) -> Option<Self> {
        if steps.len() > MAX_STEPS || !filter.slow.is_empty() {
            return None;
        }
        let all = PASSES | ((1u16 << steps.len()) - 1);
        let mut masks = Self {
            tests: Vec::new(),
            constant: if filter.nothing { 0 } else { all },
        };
        for (column, holds) in &filter.by_code {
            masks.add(Some(column), holds, PASSES);
        }
        let mut operands = Vec::new();
        for condition in wheres {
            conjuncts(condition, &mut operands);
        }
        for operand in operands.drain(..) {
            let (column, holds) = decide(columns, operand)?;
            masks.add(column, &holds, PASSES);
        }
        for (i, condition) in steps.iter().enumerate() {
            conjuncts(condition, &mut operands);
            for operand in operands.drain(..) {
                let (column, holds) = decide(columns, operand)?;
                masks.add(column, &holds, 1 << i);
            }
        }
        Some(masks)
    }

    /// Clears `bits` of the codes of `column` (of every row when `None`) where `holds` is false.
    fn add(&mut self, column: Option<&'c Column>, holds: &[bool], bits: u16) {
        let Some(column) = column else {
            if !holds[0] {
                self.constant &= !bits;
            }
            return;
        };
        let table = match self
            .tests
            .iter()
            .position(|(c, _)| std::ptr::eq(*c, column))
        {
            Some(i) => &mut self.tests[i].1,
            None => {
                self.tests.push((column, vec![u16::MAX; holds.len()]));
                &mut self.tests.last_mut().expect("just pushed").1
            }
        };
        for (mask, &holds) in table.iter_mut().zip(holds) {
            if !holds {
                *mask &= !bits;
            }
        }
    }

    /// Calls `each(row, mask, user, code)` for the rows of `rows`, in order, that pass the
    /// search, some condition of `wanted` (any row that passes with [`PASSES`] among them) and
    /// have a `user` code of `part` (`users`: the column of the
    /// user field), with their code in the column `extra` (`0` without one).
    pub(super) fn scan(
        &self,
        rows: Range<usize>,
        wanted: u16,
        users: &Column,
        part: Part,
        extra: Option<&Column>,
        mut each: impl FnMut(usize, u16, u32, u32),
    ) {
        let mut masks = vec![0u16; BLOCK];
        let mut codes = vec![0u32; BLOCK];
        let mut user_codes = vec![0u32; BLOCK];
        let mut extra_codes = vec![0u32; BLOCK];
        let mut kept = [0u16; BLOCK];
        let mut start = rows.start;
        while start < rows.end {
            let n = BLOCK.min(rows.end - start);
            let (masks, codes, user_codes) =
                (&mut masks[..n], &mut codes[..n], &mut user_codes[..n]);
            masks.fill(self.constant);
            for (column, table) in &self.tests {
                column.codes_into(start, codes);
                for (mask, &code) in masks.iter_mut().zip(codes.iter()) {
                    *mask &= table[code as usize];
                }
            }
            users.codes_into(start, user_codes);
            // The positions of the rows kept, written without a branch.
            let mut k = 0;
            for (i, (&mask, &user)) in masks.iter().zip(user_codes.iter()).enumerate() {
                kept[k % BLOCK] = i as u16;
                let passes =
                    (mask & PASSES != 0) & (mask & wanted != 0) & (user != 0) & part.has(user);
                k += usize::from(passes);
            }
            if k > 0 {
                if let Some(column) = extra {
                    column.codes_into(start, &mut extra_codes[..n]);
                }
                for &i in &kept[..k] {
                    let i = usize::from(i);
                    each(start + i, masks[i], user_codes[i], extra_codes[i]);
                }
            }
            start += n;
        }
    }
}

/// The users one thread takes: those whose code has `value` in the bits of `mask`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Part {
    mask: u32,
    value: u32,
}

impl Part {
    /// Every user.
    pub(super) const ALL: Self = Self { mask: 0, value: 0 };

    /// The users of the thread working on `half` of `0..len` (see `in_halves`): all when it is
    /// the whole, else those of even codes for the first half, of odd codes for the second.
    pub(super) fn of(half: &Range<usize>, len: usize) -> Self {
        debug_assert!(half.start == 0 || half.end == len, "two halves at most");
        match (half.start, half.end) {
            (0, end) if end == len => Self::ALL,
            (0, _) => Self { mask: 1, value: 0 },
            _ => Self { mask: 1, value: 1 },
        }
    }

    #[inline]
    pub(super) fn has(self, user: u32) -> bool {
        user & self.mask == self.value
    }

    /// The place of one of its users among them (`0..slots`): the code without the bit that
    /// chose the part (the mask is that bit, or none).
    #[inline]
    pub(super) fn slot(self, user: u32) -> u32 {
        user >> self.mask
    }

    /// How many places its users of codes below `users` take.
    pub(super) fn slots(self, users: usize) -> usize {
        (users >> self.mask) + 1
    }
}

/// The operands of a conjunction (nested ones flattened), or the condition itself.
fn conjuncts<'e>(condition: &'e Expr, out: &mut Vec<&'e Expr>) {
    match condition {
        Expr::Logic {
            op: LogicOp::And,
            operands,
        } => operands.iter().for_each(|o| conjuncts(o, out)),
        other => out.push(other),
    }
}

/// Whether `operand` holds for each code of the one column it reads (indexed by code, `0`: no
/// value), or once (`None`) when it reads no column of the index; `None` when it reads more
/// than one field or a field that is not a column, or a value is neither a Boolean nor null.
fn decide<'c>(columns: &'c Columns, operand: &Expr) -> Option<(Option<&'c Column>, Vec<bool>)> {
    let mut names = Vec::new();
    fields(operand, &mut names);
    names.sort_unstable();
    names.dedup();
    let column = match names.as_slice() {
        [] => None,
        [name] if matches!(*name, "_time" | "_raw" | "index") => return None,
        [name] => columns.column(name).map(|c| (*name, c)),
        _ => return None,
    };
    let frame = match column {
        Some((name, column)) => Frame {
            len: column.dict.len() + 1,
            cols: vec![Col {
                name: name.to_owned(),
                dict: Cow::Borrowed(&column.dict),
                codes: (0..=column.dict.len() as u32).collect(),
            }],
            ..Frame::default()
        },
        // The field is no column: every row lacks it.
        None => Frame {
            len: 1,
            ..Frame::default()
        },
    };
    let holds = (0..frame.len)
        .map(|row| match (Row { frame: &frame, row }).eval(operand) {
            Ok(Value::Bool(b)) => Some(b),
            Ok(Value::Null) => Some(false),
            _ => None,
        })
        .collect::<Option<Vec<bool>>>()?;
    Some((column.map(|(_, c)| c), holds))
}

/// The names of the fields `expr` reads.
fn fields<'e>(expr: &'e Expr, out: &mut Vec<&'e str>) {
    match expr {
        Expr::Number(_) | Expr::String(_) => {}
        Expr::Field(name) => out.push(name.as_str()),
        Expr::Unary { operand, .. } => fields(operand, out),
        Expr::Binary { left, right, .. } => {
            fields(left, out);
            fields(right, out);
        }
        Expr::RelativeTime { time, .. } => fields(time, out),
        Expr::Logic { operands: args, .. } | Expr::Call { args, .. } => {
            args.iter().for_each(|a| fields(a, out));
        }
    }
}

/// The rows of `part` (offsets from the start of `range`) of `range`.
pub(super) fn offset(range: &Range<usize>, part: Range<usize>) -> Range<usize> {
    range.start + part.start..range.start + part.end
}
