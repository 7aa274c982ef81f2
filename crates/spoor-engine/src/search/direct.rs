//! Aggregating straight from one index's columns: `stats` and `timechart` right after the
//! search, without a list of the window's rows or a frame of their codes.
//!
//! The aggregations taken are `count`, `count(f)` and `dc(f)`, by at most one field, and in a
//! chart also `sum(f)`. The window's rows are read block by block, and each row is given its
//! *slot* (its by code plus one, or `0` when the search's conditions or the by field drop it):
//! where the conditions' columns have codes of a byte, by looking each byte up in a table of
//! 256 ([`Bytewise`]; a by field of wider codes, a user id, is widened after them); else from
//! each column's codes widened into a small buffer (a loop the compiler vectorises for each
//! code width). Each row is then counted in its slot (in four partial counts) or set in its
//! slot's bitset over the field's dictionary, or its code's number added to its slot's sum;
//! where a block keeps few rows, only their codes are read. A sparse column of `count(f)` or
//! `dc(f)` (a rare property) is read by its rows with a value instead, each counted or set in
//! its row's slot. A chart's buckets are
//! ranges of rows, the times being sorted. Large windows are read in two halves on two
//! threads, whose states are then merged (so, as on the rows' own path, which also adds in two
//! halves, a sum's last bits depend on where the halves meet).
//!
//! The funnel and the retention of the builders, whole queries of their own shape, have paths
//! of their own ([`funnel`], [`retention`]), over the window's rows decided by code as
//! [`steps`] says; so has a `stats count by f` followed by its top values ([`top`]), and a
//! listing cut by `head` reads only the rows that can be kept ([`listing`]).

#[cfg(test)]
mod differential;
mod funnel;
mod listing;
mod retention;
mod steps;
mod top;

use std::borrow::Cow;
use std::ops::Range;

use spoor_spl::ast::{Aggregate, Aggregation, Command, Function, Stats, Timechart};

use crate::columns::{BUILT_IN, Bytes, Codes, Column, Columns, gallop};

use super::aggregate::{Acc, Bound, Distinct, bind_matching, numbers_of};
use super::command::stats::stats_output;
use super::command::timechart::{self, Buckets, Part};
use super::filter::{Filter, window_bounds, window_micros};
use super::frame::{Col, Frame};
use super::halves::in_halves;
use super::{SearchError, Window};

/// Rows read at a time: a block's codes stay in the first-level cache.
const BLOCK: usize = 1024;
/// A block keeping fewer than one row in this many has the codes of those rows alone read.
const SPARSE_KEPT: usize = 8;
/// A sparse column of `count(f)` or `dc(f)` with more than this many rows with a value for
/// each row a condition keeps about (see [`Filter::few`]) is read by its rows in the range
/// instead of matched with the rows listed.
const CROWDED: usize = 2;
/// The most words the bitsets of one `dc` may take on one thread; larger tables go the
/// frame's way.
const MAX_BITSET_WORDS: usize = 1 << 21;
/// The most words a chart may clear and read over its buckets (its tally, once per bucket
/// with rows); a chart of many buckets over a large by field goes the frame's way, whose work
/// grows with its rows and cells instead.
const MAX_CHART_WORDS: usize = 1 << 26;

pub(crate) use listing::newest;

/// The builders' top values by count, funnel or retention (the whole of `commands`, after the
/// search of one index and its exact `where`s) from the index's columns (whose times are
/// sorted, for the funnel and the retention); `None` when `commands` are none of them.
pub(crate) fn shaped<'a>(
    columns: &'a Columns,
    filter: &Filter<'a, '_>,
    window: &Window,
    commands: &[Command],
) -> Option<Result<Frame<'a>, SearchError>> {
    if let Some(answer) = top::answer(columns, filter, window, commands) {
        return Some(answer);
    }
    if !columns.sorted {
        return None;
    }
    let (earliest, latest) = window_micros(window);
    let search = steps::Search {
        columns,
        filter,
        rows: columns.window_rows(earliest, latest),
        window,
    };
    funnel::answer(&search, commands).or_else(|| retention::answer(&search, commands))
}

/// `command` (a `stats` or `timechart` right after the search) over the rows of `columns` in
/// `window` that pass `filter`; `None` when it is not one this path takes.
pub(crate) fn aggregate<'a>(
    columns: &'a Columns,
    filter: &Filter<'a, '_>,
    window: &Window,
    command: &Command,
) -> Option<Result<Frame<'a>, SearchError>> {
    let rows = Rows::of(columns, filter, window)?;
    match command {
        Command::Stats(stats) => aggregate_stats(rows, stats).map(Ok),
        Command::Timechart(chart) if columns.sorted => chart_rows(rows, chart),
        _ => None,
    }
}

fn aggregate_stats<'a>(rows: Rows<'a, '_>, stats: &Stats) -> Option<Frame<'a>> {
    let (columns, window) = (rows.columns, rows.window);
    let by = match stats.by.as_slice() {
        [] => None,
        [field] => Some(field.as_str()),
        _ => return None,
    };
    let view = view(columns, by, &stats.aggregations)?;
    // A wildcard binds every column it matches; `wildcard` marks those bindings.
    let (bound, wildcard): (Vec<Bound<'_, 'a>>, Vec<bool>) = stats
        .aggregations
        .iter()
        .flat_map(|a| {
            let matched =
                matches!(&a.aggregate, Aggregate::Apply { field, .. } if field.wildcards() > 0);
            bind_matching(&view, a, |_| true)
                .into_iter()
                .map(move |b| (b, matched))
        })
        .unzip();
    // Rows without the by field have no group, but are counted in slot 1 (never a group's
    // slot when there is a by field): their fields are fields of the input rows.
    let plan = Plan::new(rows, by, true, &bound, false)?;
    let tally = plan.tally_all()?;
    // Without a by field, every row is in the one group (slot 1); with one, a group is a by
    // value some row has.
    let slots: Vec<usize> = match by {
        None => vec![1],
        Some(_) => (2..plan.slots())
            .filter(|&slot| tally.rows[slot] > 0)
            .collect(),
    };
    let keys: Vec<Vec<u32>> = slots
        .iter()
        .map(|&slot| by.map(|_| slot as u32 - 1).into_iter().collect())
        .collect();
    let accs: Vec<Vec<Acc>> = (0..bound.len())
        .map(|i| {
            slots
                .iter()
                .map(|&slot| tally.acc(&plan, i, slot))
                .collect()
        })
        .collect();
    // The fields a wildcard stands for are those of the input rows (with or without the by
    // field): a column no row the search keeps has a value in is not one of them.
    let keep: Vec<bool> = (0..bound.len())
        .map(|i| !wildcard[i] || tally.any_value(&plan, i, 1..plan.slots()))
        .collect();
    let (bound, accs): (Vec<_>, Vec<_>) = bound
        .into_iter()
        .zip(accs)
        .zip(&keep)
        .filter(|(_, keep)| **keep)
        .map(|(pair, _)| pair)
        .unzip();
    let by_cols: Option<Vec<&Col<'a>>> = by.map(|field| view.col(field).into_iter().collect());
    Some(stats_output(
        stats,
        by_cols.as_deref(),
        &keys,
        &bound,
        &accs,
        window,
    ))
}

fn chart_rows<'a>(rows: Rows<'a, '_>, chart: &Timechart) -> Option<Result<Frame<'a>, SearchError>> {
    let (columns, window) = (rows.columns, rows.window);
    let buckets = match Buckets::of(chart) {
        Ok(buckets) => buckets,
        Err(err) => return Some(Err(err)),
    };
    let by = chart.by.as_ref().map(|field| field.as_str());
    let view = view(columns, by, std::slice::from_ref(&chart.aggregation))?;
    let bound = timechart::bind_one(&view, chart).ok()?;
    // Rows without the by field form the series NULL, unless `usenull=false`.
    let plan = Plan::new(
        rows,
        by,
        chart.use_null.unwrap_or(true),
        std::slice::from_ref(&bound),
        true,
    )?;
    let edges = match buckets.edges(window, || plan.rows_span(&columns.times)) {
        Ok(edges) => edges,
        Err(err) => return Some(Err(err)),
    };
    let n = edges.len().saturating_sub(1);
    // Each bucket with rows clears and reads the whole tally.
    let busy = n.min(plan.rows.range.len());
    if busy.saturating_mul(plan.tally_words()) > MAX_CHART_WORDS {
        return None;
    }
    // Each bucket's rows: from the first row at or after its start to the next bucket's.
    let edges_rows: Vec<usize> = edges
        .iter()
        .map(|&t| columns.times.partition_point(|&time| time < t))
        .collect();
    let parts = in_halves(plan.rows.range.len(), |half| -> Result<Part, SearchError> {
        let half = plan.rows.part(half);
        let mut index_of = vec![u32::MAX; plan.slots()];
        let mut series: Part = Vec::new();
        let (mut tally, mut block) = (Tally::new(&plan), Block::default());
        for (b, edge) in edges_rows.windows(2).enumerate() {
            let rows = edge[0].max(half.start)..edge[1].min(half.end);
            if rows.is_empty() {
                continue;
            }
            tally.clear();
            plan.tally(rows, &mut tally, &mut block);
            for slot in (1..plan.slots()).filter(|&slot| tally.rows[slot] > 0) {
                if index_of[slot] == u32::MAX {
                    timechart::admit(buckets.span(), n, series.len() + 1)?;
                    index_of[slot] = series.len() as u32;
                    series.push((slot as u32 - 1, vec![Acc::default(); n]));
                }
                series[index_of[slot] as usize].1[b] = tally.acc(&plan, 0, slot);
            }
        }
        Ok(series)
    });
    let parts = match parts
        .into_iter()
        .collect::<Result<Vec<Part>, SearchError>>()
    {
        Ok(parts) => parts,
        Err(err) => return Some(Err(err)),
    };
    let by_col = by.and_then(|field| view.col(field));
    Some(timechart::output(
        chart, &bound, by_col, buckets, &edges, parts, window,
    ))
}

/// The columns a command reads (its by field and aggregated fields), as a frame without rows:
/// their names and dictionaries, to bind aggregations and name groups and series by. `None`
/// when an aggregation is not one this path takes, or a field is not a column of the index.
fn view<'a>(
    columns: &'a Columns,
    by: Option<&str>,
    aggregations: &[Aggregation],
) -> Option<Frame<'a>> {
    let mut names: Vec<&str> = by.into_iter().collect();
    for aggregation in aggregations {
        match &aggregation.aggregate {
            Aggregate::Count => {}
            Aggregate::Apply {
                function: Function::Count | Function::DistinctCount | Function::Sum,
                field,
            } if field.wildcards() == 0 => names.push(field.as_str()),
            // A wildcard matching a built-in field (`source`, `_time`, …), which rows have too
            // but which is no extracted field's column here, is the generic path's.
            Aggregate::Apply { field, .. } if BUILT_IN.iter().any(|name| field.matches(name)) => {
                return None;
            }
            // A wildcard: every column it matches (those no kept row has are dropped later).
            Aggregate::Apply {
                function: Function::Count | Function::DistinctCount,
                field,
            } => {
                for (name, _) in columns.fields() {
                    if field.matches(name) && !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
            Aggregate::Apply { .. } => return None,
        }
    }
    let cols = names
        .into_iter()
        .map(|name| {
            let column = columns.column(name)?;
            Some(Col {
                name: name.to_owned(),
                dict: Cow::Borrowed(&column.dict),
                codes: Vec::new(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Frame {
        cols,
        ..Frame::default()
    })
}

/// The rows to aggregate: a range of the index's, narrowed by the search's conditions.
struct Rows<'c, 'f> {
    columns: &'c Columns,
    range: Range<usize>,
    /// Where the times are not sorted: the times, and the window (µs) each row is checked in.
    check: Option<(&'c [i64], i64, i64)>,
    /// The search's window (µs, `None`: open).
    window: (Option<i64>, Option<i64>),
    /// The rows of `range` the search keeps, when a condition keeps few of them and they were
    /// found from postings (see [`Filter::selected`]); the rows are then read by these alone.
    listed: Option<Vec<u32>>,
    /// The search's conditions (see [`Filter`]).
    filter: &'f Filter<'c, 'f>,
}

impl<'c, 'f> Rows<'c, 'f> {
    /// The rows of `window` in `columns` to aggregate, narrowed by the search's `filter`;
    /// `None` when a term is decided row by row (on `_time` or `_raw`).
    fn of(columns: &'c Columns, filter: &'f Filter<'c, '_>, window: &Window) -> Option<Self> {
        if !filter.slow.is_empty() {
            return None;
        }
        let (earliest, latest) = window_micros(window);
        let range = if filter.nothing {
            0..0
        } else {
            columns.window_rows(earliest, latest)
        };
        Some(Rows {
            columns,
            listed: None,
            filter,
            range,
            // A window is a range of rows exactly when the times are sorted; else check each.
            check: (!columns.sorted).then_some((columns.times.as_slice(), earliest, latest)),
            window: window_bounds(window),
        })
    }
}

impl Rows<'_, '_> {
    /// The rows of the part `part` (counted from the range's start) of the range.
    fn part(&self, part: Range<usize>) -> Range<usize> {
        self.range.start + part.start..self.range.start + part.end
    }

    /// The blocks of the rows `rows` (of the range) to read, in order: ranges of [`BLOCK`]
    /// rows, or, when the rows kept were listed, up to [`BLOCK`] of those at a time.
    fn blocks(&self, rows: Range<usize>) -> impl Iterator<Item = Span<'_>> {
        let listed = self.listed.as_deref().map(|listed| {
            let from = listed.partition_point(|&r| (r as usize) < rows.start);
            let to = listed.partition_point(|&r| (r as usize) < rows.end);
            &listed[from..to]
        });
        let ranged = listed.is_none().then(|| {
            rows.clone()
                .step_by(BLOCK)
                .map(move |start| Span::From(start, BLOCK.min(rows.end - start)))
        });
        let listed = listed
            .into_iter()
            .flat_map(|listed| listed.chunks(BLOCK).map(Span::Listed));
        ranged.into_iter().flatten().chain(listed)
    }

    /// Zeroes the slots of the rows of `span` that the search drops (`codes`: a buffer as
    /// long as `slots`); listed rows are all kept.
    fn narrow(&self, span: Span<'_>, slots: &mut [u32], codes: &mut [u32]) {
        let Span::From(start, _) = span else {
            return;
        };
        for (column, holds) in &self.filter.by_code {
            column.codes_into(start, codes);
            for (slot, &code) in slots.iter_mut().zip(codes.iter()) {
                *slot *= u32::from(holds[code as usize]);
            }
        }
        if let Some((times, earliest, latest)) = self.check {
            for (slot, &t) in slots.iter_mut().zip(&times[start..]) {
                *slot *= u32::from(earliest <= t && t < latest);
            }
        }
    }
}

/// What one aggregation adds up for each slot.
enum Kind<'c> {
    /// `count`: the slot's rows (kept by every tally).
    Rows,
    /// `count(f)`: the slot's rows with a value of `f`.
    Present(&'c Column),
    /// `dc(f)`: a bitset of `words` words per slot over the codes of `f`.
    Distinct(&'c Column, usize),
    /// `sum(f)`: each code's number (`0` for none) and whether it has one (`1`), added up per
    /// slot as a sum and a count of numbers.
    Sum(&'c Column, Vec<f64>, Vec<u64>),
}

/// How each row is counted: its slot, and what each aggregation adds up.
struct Plan<'c, 'f> {
    rows: Rows<'c, 'f>,
    /// The by field's column (`None`: every row is in slot 1).
    by: Option<&'c Column>,
    /// Whether rows without the by field are counted (in slot 1); rows with a value always
    /// are.
    null: bool,
    aggregations: Vec<Kind<'c>>,
    /// How a block of rows is given its slots from its codes as bytes, when every condition's
    /// column has at most 256 codes.
    bytewise: Option<Bytewise<'c>>,
}

impl<'c, 'f> Plan<'c, 'f> {
    /// The plan of `bound` by the field `by` (counting rows without it when `null`); `None`
    /// when an aggregation is not one this path takes (`sum` only where `sums`), or its bitsets
    /// would be too large.
    fn new(
        rows: Rows<'c, 'f>,
        by: Option<&str>,
        null: bool,
        bound: &[Bound<'_, '_>],
        sums: bool,
    ) -> Option<Self> {
        let columns = rows.columns;
        let by = match by {
            Some(field) => Some(columns.column(field)?),
            None => None,
        };
        let slots = slot_count(by);
        let aggregations = bound
            .iter()
            .map(|b| {
                let column = || columns.column(&b.col?.name);
                match b.function {
                    None => Some(Kind::Rows),
                    Some(Function::Count) => Some(Kind::Present(column()?)),
                    Some(Function::DistinctCount) => {
                        let column = column()?;
                        let words = (column.dict.len() + 1).div_ceil(64);
                        (words * slots <= MAX_BITSET_WORDS).then_some(Kind::Distinct(column, words))
                    }
                    Some(Function::Sum) if sums => {
                        let numbers = numbers_of(b);
                        Some(Kind::Sum(
                            column()?,
                            numbers.iter().map(|n| n.unwrap_or(0.0)).collect(),
                            numbers.iter().map(|n| u64::from(n.is_some())).collect(),
                        ))
                    }
                    Some(_) => None,
                }
            })
            .collect::<Option<Vec<_>>>()?;
        let mut rows = rows;
        // Listed rows are matched with a sparse column's rows with a value one by one: past a
        // few of those for each listed row, reading the column's rows in the range, as they
        // come, is quicker (the properties of an event: common properties among one event's
        // rows).
        if let Some(few) = rows.filter.few(rows.columns, &rows.range) {
            let range = &rows.range;
            let crowded = aggregations.iter().any(|kind| match kind {
                Kind::Present(column) | Kind::Distinct(column, _) => {
                    column.sparse().is_some_and(|(present, _)| {
                        let from = present.partition_point(|&r| (r as usize) < range.start);
                        let to = present.partition_point(|&r| (r as usize) < range.end);
                        to - from > CROWDED * few.about
                    })
                }
                Kind::Rows | Kind::Sum(..) => false,
            });
            if !crowded {
                let bounds = rows.check.map_or((i64::MIN, i64::MAX), |(_, e, l)| (e, l));
                rows.listed = Some(
                    rows.filter
                        .selected(rows.columns, range.clone(), &few, bounds),
                );
            }
        }
        let bytewise = Bytewise::new(&rows, by, null);
        Some(Self {
            rows,
            by,
            null,
            aggregations,
            bytewise,
        })
    }

    /// How many slots: `0` for rows not counted, then one per by code.
    fn slots(&self) -> usize {
        slot_count(self.by)
    }

    /// How many words a [`Tally`] of this plan holds: a count per slot, and each aggregation's
    /// counts or bitsets.
    fn tally_words(&self) -> usize {
        let per_slot = self.aggregations.iter().fold(1usize, |words, kind| {
            words.saturating_add(match kind {
                Kind::Rows => 0,
                Kind::Present(_) => 1,
                Kind::Distinct(_, words) => *words,
                Kind::Sum(..) => 2,
            })
        });
        self.slots().saturating_mul(per_slot)
    }

    /// Gives the selected rows of `span` (their slots `1` where the search keeps them) their
    /// slots by their by codes (`codes`: a buffer as long as `slots`).
    fn group(
        &self,
        span: Span<'_>,
        slots: &mut [u32],
        codes: &mut [u32],
        selection: &Selection<'_>,
    ) {
        let Some(column) = self.by else { return };
        span.codes(column, codes);
        match selection {
            Selection::All(_) => {
                for (slot, &code) in slots.iter_mut().zip(codes.iter()) {
                    *slot *= slot_of(code, self.null);
                }
            }
            Selection::Kept(kept) => {
                for &i in *kept {
                    slots[i] *= slot_of(codes[i], self.null);
                }
            }
        }
    }

    /// Adds the rows `rows` to `tally`, a block at a time.
    fn tally(&self, rows: Range<usize>, tally: &mut Tally, block: &mut Block) {
        let grouped = self.by.is_some();
        // A sparse column of `count(f)` or `dc(f)` is read by its rows with a value (the next
        // of which is kept here), not by a block of codes that are mostly none.
        let mut next: Vec<usize> = self
            .aggregations
            .iter()
            .map(|kind| match kind {
                Kind::Present(column) | Kind::Distinct(column, _) => {
                    column.sparse().map_or(0, |(present, _)| {
                        present.partition_point(|&row| (row as usize) < rows.start)
                    })
                }
                Kind::Rows | Kind::Sum(..) => 0,
            })
            .collect();
        for span in self.rows.blocks(rows) {
            let n = span.len();
            let (slots, codes) = (&mut block.slots[..n], &mut block.codes[..n]);
            let bytewise = match (span, &self.bytewise) {
                (Span::From(start, _), Some(bytewise)) => {
                    let done = bytewise.slots(start, slots);
                    if done && matches!(bytewise.by, By::Wide) {
                        self.group(span, slots, codes, &Selection::All(n));
                    }
                    done
                }
                _ => false,
            };
            let kept = if bytewise {
                Selection::of(slots, &mut block.kept)
            } else {
                // The search's conditions first, so that only the rows kept are grouped.
                slots.fill(1);
                self.rows.narrow(span, slots, codes);
                let kept = Selection::of(slots, &mut block.kept);
                self.group(span, slots, codes, &kept);
                kept
            };
            count(slots, &kept, grouped, &mut tally.rows, |_| true);
            for (((kind, table), sums), next) in self
                .aggregations
                .iter()
                .zip(&mut tally.tables)
                .zip(&mut tally.sums)
                .zip(&mut next)
            {
                match kind {
                    Kind::Rows => {}
                    Kind::Present(column) => match column.sparse() {
                        // Rows the search drops count in slot 0, never read.
                        Some(sparse) => each_present(sparse, next, span, |i, _| {
                            let slot = slots[i] as usize;
                            if grouped {
                                table[slot] += 1;
                            } else {
                                table[1] += u64::from(slot != 0);
                            }
                        }),
                        None => {
                            span.selected_codes(column, &kept, codes);
                            count(slots, &kept, grouped, table, |i| codes[i] != 0);
                        }
                    },
                    &Kind::Distinct(column, words) => match column.sparse() {
                        // Rows the search drops (slot 0) are skipped: when few rows are kept,
                        // most rows with a value are not, and a branch costs less than a bit
                        // set for nothing.
                        Some(sparse) => each_present(sparse, next, span, |i, code| {
                            let (slot, code) = (slots[i] as usize, code as usize);
                            if slot != 0 {
                                table[slot * words + code / 64] |= 1 << (code % 64);
                            }
                        }),
                        None => {
                            span.selected_codes(column, &kept, codes);
                            kept.each(|i| {
                                let (slot, code) = (slots[i] as usize, codes[i] as usize);
                                table[slot * words + code / 64] |= 1 << (code % 64);
                            });
                        }
                    },
                    Kind::Sum(column, values, numbers) => {
                        // Rows the search drops add up in slot 0, never read.
                        span.selected_codes(column, &kept, codes);
                        kept.each(|i| {
                            let (slot, code) = (slots[i] as usize, codes[i] as usize);
                            sums[slot] += values[code];
                            table[slot] += numbers[code];
                        });
                    }
                }
            }
        }
    }

    /// What all its rows add up to, in two halves on two threads.
    fn tally_all(&self) -> Option<Tally> {
        in_halves(self.rows.range.len(), |half| {
            let mut tally = Tally::new(self);
            self.tally(self.rows.part(half), &mut tally, &mut Block::default());
            tally
        })
        .into_iter()
        .reduce(|mut into, from| {
            into.merge(&from, self);
            into
        })
    }

    /// The times of the first and last rows the search keeps (whatever their by value).
    fn rows_span(&self, times: &[i64]) -> Option<(i64, i64)> {
        if let Some(listed) = &self.rows.listed {
            let (first, last) = (listed.first()?, listed.last()?);
            return Some((times[*first as usize], times[*last as usize]));
        }
        let range = self.rows.range.clone();
        let mut block = Block::default();
        // The rows of the block from `start` on that the search keeps.
        let mut kept = |start: usize| -> Vec<usize> {
            let n = BLOCK.min(range.end - start);
            let (slots, codes) = (&mut block.slots[..n], &mut block.codes[..n]);
            slots.fill(1);
            self.rows.narrow(Span::From(start, n), slots, codes);
            (start..start + n)
                .filter(|&row| slots[row - start] != 0)
                .collect()
        };
        let starts: Vec<usize> = range.clone().step_by(BLOCK).collect();
        let first = starts.iter().find_map(|&s| kept(s).first().copied())?;
        let last = starts.iter().rev().find_map(|&s| kept(s).last().copied())?;
        Some((times[first], times[last]))
    }
}

/// How many slots a plan by `by` has: `0` for rows not counted, then one per by code (`1`
/// for rows without the by field, or, without one, for every row).
fn slot_count(by: Option<&Column>) -> usize {
    by.map_or(1, |column| column.dict.len() + 1) + 1
}

/// The slot of a row kept whose by field has `code`: the code plus one, or `0` for no value
/// unless rows without the field are counted (`null`).
#[inline]
fn slot_of(code: u32, null: bool) -> u32 {
    (code + 1) * u32::from(null || code != 0)
}

/// A column whose codes are bytes, and what each code makes of a row's slot: a table of 256,
/// which a byte indexes with no check.
struct ByteTable<'c> {
    column: &'c Column,
    table: Box<[u32; 256]>,
}

impl<'c> ByteTable<'c> {
    /// `column`'s table from `value` of each code; `None` past 256 codes, or for a sparse
    /// column.
    fn new(column: &'c Column, codes: usize, value: impl Fn(usize) -> u32) -> Option<Self> {
        (codes <= 256 && column.sparse().is_none()).then(|| {
            let mut table = Box::new([0; 256]);
            for (code, entry) in table.iter_mut().enumerate().take(codes) {
                *entry = value(code);
            }
            Self { column, table }
        })
    }
}

/// Slots from codes that are bytes: the by field's code gives a row its slot, and each
/// condition's a mask of all ones or none, in one pass over each column's bytes, with no
/// widening and no checks. It gives the same slots as the conditions, then the grouping,
/// one row at a time.
struct Bytewise<'c> {
    /// How the by field gives a row its slot.
    by: By<'c>,
    /// Each condition's column, and each code's mask.
    conditions: Vec<ByteTable<'c>>,
}

/// The by field of [`Bytewise`].
enum By<'c> {
    /// None: every row is in slot 1.
    None,
    /// Codes of a byte: each code's slot from its table.
    Bytes(ByteTable<'c>),
    /// Wider codes (a user id): the rows the conditions keep are grouped after them, as
    /// [`Plan::group`] groups them.
    Wide,
}

impl<'c> Bytewise<'c> {
    /// `None` where the rows were listed or the times are not sorted (the other ways of
    /// narrowing), or a condition's column has more than 256 codes. Rows without the by field
    /// are counted when `null` (see [`slot_of`]).
    fn new(rows: &Rows<'c, '_>, by: Option<&'c Column>, null: bool) -> Option<Self> {
        if rows.listed.is_some() || rows.check.is_some() {
            return None;
        }
        let by = match by {
            None => By::None,
            Some(column) => ByteTable::new(column, column.dict.len() + 1, |code| {
                slot_of(code as u32, null)
            })
            .map_or(By::Wide, By::Bytes),
        };
        let conditions = rows
            .filter
            .by_code
            .iter()
            .map(|(column, holds)| {
                ByteTable::new(
                    column,
                    holds.len(),
                    |code| {
                        if holds[code] { u32::MAX } else { 0 }
                    },
                )
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self { by, conditions })
    }

    /// Gives the rows from `start` on their slots (`0` where the search drops them), or, for a
    /// by field of wider codes, `1` where the search keeps them; `false` when a column's codes
    /// there are not bytes (rows past those stored), `slots` unchanged.
    fn slots(&self, start: usize, slots: &mut [u32]) -> bool {
        let n = slots.len();
        let bytes = |t: &ByteTable<'c>| t.column.bytes(start, n);
        if !self.conditions.iter().all(|t| bytes(t).is_some()) {
            return false;
        }
        let by = match &self.by {
            By::Bytes(t) => Some(t),
            By::None | By::Wide => None,
        };
        // The first condition whose codes differ row by row is applied with the by field's
        // codes, in the same pass.
        let fused = self
            .conditions
            .iter()
            .enumerate()
            .find_map(|(i, t)| match bytes(t) {
                Some(Bytes::Each(codes)) => Some((i, codes, &*t.table)),
                _ => None,
            });
        let first = fused.map(|(i, ..)| i);
        let fused = fused.map(|(_, codes, mask)| (codes, mask));
        match (by, fused) {
            (None, None) => slots.fill(1),
            (None, Some((codes, mask))) => {
                for (slot, &code) in slots.iter_mut().zip(codes) {
                    *slot = mask[usize::from(code)] & 1;
                }
            }
            // (The tables are taken out of their boxes first: read through the box, a table's
            // address was loaded again for each row, the compiler unsure that a slot written
            // is not the box.)
            (Some(t), fused) => match (bytes(t), fused, &*t.table) {
                (None, ..) => return false,
                (Some(Bytes::Same(code)), _, table) => {
                    slots.fill(table[usize::from(code)]);
                    if let Some((codes, mask)) = fused {
                        for (slot, &code) in slots.iter_mut().zip(codes) {
                            *slot &= mask[usize::from(code)];
                        }
                    }
                }
                (Some(Bytes::Each(by)), None, table) => {
                    for (slot, &code) in slots.iter_mut().zip(by) {
                        *slot = table[usize::from(code)];
                    }
                }
                (Some(Bytes::Each(by)), Some((codes, mask)), table) => {
                    for ((slot, &b), &code) in slots.iter_mut().zip(by).zip(codes) {
                        *slot = table[usize::from(b)] & mask[usize::from(code)];
                    }
                }
            },
        }
        for (i, t) in self.conditions.iter().enumerate() {
            let table: &[u32; 256] = &t.table;
            match bytes(t) {
                Some(Bytes::Same(code)) if table[usize::from(code)] == 0 => slots.fill(0),
                Some(Bytes::Each(codes)) if Some(i) != first => {
                    for (slot, &code) in slots.iter_mut().zip(codes) {
                        *slot &= table[usize::from(code)];
                    }
                }
                Some(Bytes::Same(_) | Bytes::Each(_)) | None => {}
            }
        }
        true
    }
}

/// The rows of a block: `n` rows from a start, or these rows (ascending), which the search
/// keeps.
#[derive(Clone, Copy)]
enum Span<'r> {
    From(usize, usize),
    Listed(&'r [u32]),
}

impl Span<'_> {
    fn len(&self) -> usize {
        match self {
            Self::From(_, n) => *n,
            Self::Listed(rows) => rows.len(),
        }
    }

    /// Writes `column`'s codes of the span's rows into `out` (as long).
    fn codes(&self, column: &Column, out: &mut [u32]) {
        match self {
            Self::From(start, _) => column.codes_into(*start, out),
            Self::Listed(rows) => column.codes_of(rows, out),
        }
    }

    /// Writes `column`'s codes of the selected rows of the span into their places in `out`
    /// (as long; others may be left as they were): those rows' alone when they are few
    /// (fewer than one in [`SPARSE_KEPT`]), else all (a copy that is quicker a row).
    fn selected_codes(&self, column: &Column, selection: &Selection<'_>, out: &mut [u32]) {
        match (self, selection) {
            (Self::From(start, n), Selection::Kept(kept)) if kept.len() * SPARSE_KEPT < *n => {
                column.codes_at(*start, kept, out);
            }
            _ => self.codes(column, out),
        }
    }
}

/// The rows of a block to count: all of them (those of slot `0` are counted there, and never
/// read), or, when few are kept, the positions of those the search keeps.
enum Selection<'k> {
    All(usize),
    Kept(&'k [usize]),
}

impl<'k> Selection<'k> {
    /// The selection of the block whose rows have `slots` (`kept`: room for a position a row).
    fn of(slots: &[u32], kept: &'k mut [usize]) -> Self {
        let n = slots.iter().filter(|&&slot| slot != 0).count();
        if n * 2 > slots.len() {
            return Self::All(slots.len());
        }
        // By 64 rows: a mask of those kept, then the place of each bit set.
        let mut n = 0;
        for (word, group) in slots.chunks(64).enumerate() {
            let mut mask = group
                .iter()
                .enumerate()
                .fold(0u64, |mask, (i, &slot)| mask | (u64::from(slot != 0) << i));
            while mask != 0 {
                kept[n] = word * 64 + mask.trailing_zeros() as usize;
                n += 1;
                mask &= mask - 1;
            }
        }
        Self::Kept(&kept[..n])
    }

    /// Calls `f` with each selected position.
    #[inline]
    fn each(&self, mut f: impl FnMut(usize)) {
        match self {
            Self::All(n) => (0..*n).for_each(f),
            Self::Kept(kept) => kept.iter().for_each(|&i| f(i)),
        }
    }
}

/// Calls `f` with the position in `span` and the code of each of its rows a sparse column
/// (its rows with a value, and their codes) has a value in, from its `next`-th such row on;
/// leaves `next` at the first such row past the span. Listed rows are matched with the
/// column's by walking the shorter of the two lists and searching the other by doubling steps,
/// so a column rare among them, or one they are rare among, costs little.
fn each_present(
    (present, codes): (&[u32], &Codes),
    next: &mut usize,
    span: Span<'_>,
    mut f: impl FnMut(usize, u32),
) {
    match span {
        Span::From(start, n) => {
            let end = u32::try_from(start + n).unwrap_or(u32::MAX);
            *next = codes.each_below(present, *next, end, |row, code| {
                f(row as usize - start, code);
            });
        }
        Span::Listed(rows) => {
            let (Some(&first), Some(&last)) = (rows.first(), rows.last()) else {
                return;
            };
            let lo = gallop(present, *next, first);
            let hi = lo + present[lo..].partition_point(|&r| r <= last);
            if hi - lo < rows.len() {
                let mut j = 0;
                for (i, &row) in present.iter().enumerate().take(hi).skip(lo) {
                    j = gallop(rows, j, row);
                    if rows.get(j) == Some(&row) {
                        f(j, codes.get(i));
                    }
                }
            } else {
                let mut i = lo;
                for (j, &row) in rows.iter().enumerate() {
                    i = gallop(present, i, row);
                    if present.get(i) == Some(&row) {
                        f(j, codes.get(i));
                    }
                }
            }
            *next = hi;
        }
    }
}

/// The most slots whose rows of a block are counted in four partial counts (see [`count`]).
const LANE_SLOTS: usize = 64;

/// Counts the selected rows for which `counted` holds into their slots' counts; with one slot
/// (`grouped` false), as one sum.
fn count(
    slots: &[u32],
    selection: &Selection<'_>,
    grouped: bool,
    counts: &mut [u64],
    counted: impl Fn(usize) -> bool,
) {
    if grouped && counts.len() <= LANE_SLOTS {
        // Four partial counts taken in turn: a run of rows of one slot (those the search
        // drops, in slot 0) adds to four counters, not one, so each addition does not wait
        // for the one before.
        // (A slot is below `LANE_SLOTS`, a power of two: the remainder only spares the check.)
        let mut lanes = [[0u32; LANE_SLOTS]; 4];
        let mut add = |lane: usize, i: usize| {
            lanes[lane][slots[i] as usize % LANE_SLOTS] += u32::from(counted(i));
        };
        match selection {
            Selection::All(n) => {
                let whole = n - n % 4;
                for i in (0..whole).step_by(4) {
                    add(0, i);
                    add(1, i + 1);
                    add(2, i + 2);
                    add(3, i + 3);
                }
                (whole..*n).for_each(|i| add(0, i));
            }
            Selection::Kept(kept) => {
                let mut quads = kept.chunks_exact(4);
                for quad in &mut quads {
                    add(0, quad[0]);
                    add(1, quad[1]);
                    add(2, quad[2]);
                    add(3, quad[3]);
                }
                quads.remainder().iter().for_each(|&i| add(0, i));
            }
        }
        for lane in &lanes {
            for (count, &n) in counts.iter_mut().zip(lane) {
                *count += u64::from(n);
            }
        }
    } else if grouped {
        selection.each(|i| counts[slots[i] as usize] += u64::from(counted(i)));
    } else {
        let mut n = 0;
        selection.each(|i| n += u64::from(slots[i] != 0 && counted(i)));
        counts[1] += n;
    }
}

/// The codes of one block of rows, and the positions of those kept.
struct Block {
    slots: Vec<u32>,
    codes: Vec<u32>,
    kept: Vec<usize>,
}

impl Default for Block {
    fn default() -> Self {
        Self {
            slots: vec![0; BLOCK],
            codes: vec![0; BLOCK],
            kept: vec![0; BLOCK],
        }
    }
}

/// What some rows added up, by slot: their number, and each aggregation's counts or bitsets
/// (nothing for `count`, which is the rows').
struct Tally {
    rows: Vec<u64>,
    tables: Vec<Vec<u64>>,
    /// Each aggregation's sums by slot (only a sum's has any).
    sums: Vec<Vec<f64>>,
}

impl Tally {
    fn new(plan: &Plan<'_, '_>) -> Self {
        let slots = plan.slots();
        Self {
            rows: vec![0; slots],
            tables: plan
                .aggregations
                .iter()
                .map(|kind| match kind {
                    Kind::Rows => Vec::new(),
                    Kind::Present(_) | Kind::Sum(..) => vec![0; slots],
                    Kind::Distinct(_, words) => vec![0; slots * words],
                })
                .collect(),
            sums: plan
                .aggregations
                .iter()
                .map(|kind| match kind {
                    Kind::Sum(..) => vec![0.0; slots],
                    _ => Vec::new(),
                })
                .collect(),
        }
    }

    fn clear(&mut self) {
        self.rows.fill(0);
        for table in &mut self.tables {
            table.fill(0);
        }
        for sums in &mut self.sums {
            sums.fill(0.0);
        }
    }

    /// Adds what `other` (of the same plan) added up.
    fn merge(&mut self, other: &Self, plan: &Plan<'_, '_>) {
        for (into, from) in self.rows.iter_mut().zip(&other.rows) {
            *into += from;
        }
        for ((kind, into), from) in plan
            .aggregations
            .iter()
            .zip(&mut self.tables)
            .zip(&other.tables)
        {
            for (into, from) in into.iter_mut().zip(from) {
                match kind {
                    Kind::Distinct(..) => *into |= from,
                    Kind::Rows | Kind::Present(_) | Kind::Sum(..) => *into += from,
                }
            }
        }
        for (into, from) in self.sums.iter_mut().zip(&other.sums) {
            for (into, from) in into.iter_mut().zip(from) {
                *into += from;
            }
        }
    }

    /// Whether some row of the slots `slots` has a value of aggregation `i`'s field.
    fn any_value(&self, plan: &Plan<'_, '_>, i: usize, slots: Range<usize>) -> bool {
        match plan.aggregations[i] {
            Kind::Rows => slots.into_iter().any(|slot| self.rows[slot] > 0),
            // A sum: some number (only a field that is no wildcard is summed here).
            Kind::Present(_) | Kind::Sum(..) => {
                slots.into_iter().any(|slot| self.tables[i][slot] > 0)
            }
            // Bit 0 of a slot's bitset is set by the rows without a value.
            Kind::Distinct(_, words) => slots.into_iter().any(|slot| {
                let bits = &self.tables[i][slot * words..(slot + 1) * words];
                bits.iter()
                    .enumerate()
                    .any(|(w, &word)| (word & if w == 0 { !1 } else { !0 }) != 0)
            }),
        }
    }

    /// The state of aggregation `i` over the rows of `slot`.
    fn acc(&self, plan: &Plan<'_, '_>, i: usize, slot: usize) -> Acc {
        let mut acc = Acc::default();
        acc.rows = self.rows[slot];
        match plan.aggregations[i] {
            Kind::Rows => {}
            Kind::Present(_) => acc.present = self.tables[i][slot],
            Kind::Distinct(column, words) => {
                let bits = &self.tables[i][slot * words..(slot + 1) * words];
                acc.distinct = Distinct::from_bits(bits, column.dict.len());
            }
            Kind::Sum(..) => acc.set_sum(self.sums[i][slot], self.tables[i][slot]),
        }
        acc
    }
}
