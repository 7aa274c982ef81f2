//! The search: which indexes it reads, its terms (and the `where`s that repeat them) as a
//! [`Filter`] over one index's columns, decided once per distinct value, and the window's bounds.

use std::collections::BTreeMap;

use spoor_spl::ast::{Command, CompareOp, Condition, SearchTerm};

use crate::columns::{Column, Columns};
use crate::store::Store;

use super::command::where_;
use super::halves::in_halves;
use super::text::{Pattern, format_time};
use super::{Level, Message, SearchError, Window, unknown_index_warning};

/// The `where`s straight after the search, on fields the index holds as columns, are decided
/// with the search terms, by code: their conditions, and the commands left to run over the frame.
pub(crate) fn exact_wheres(commands: &[Command]) -> (Vec<&Condition>, &[Command]) {
    let pushed = commands
        .iter()
        .take_while(|c| match c {
            Command::Where(w) => w
                .conditions
                .iter()
                .all(|c| !matches!(c.field.as_str(), "_time" | "_raw" | "index")),
            _ => false,
        })
        .count();
    let exact: Vec<&Condition> = commands[..pushed]
        .iter()
        .flat_map(|c| match c {
            Command::Where(w) => w.conditions.iter(),
            _ => [].iter(),
        })
        .collect();
    (exact, &commands[pushed..])
}

/// The indexes the `index` terms select; `main` when there are none.
pub(crate) fn choose_indexes<'i>(
    indexes: &'i BTreeMap<String, Columns>,
    terms: &[&SearchTerm],
    messages: &mut Vec<Message>,
) -> Vec<&'i String> {
    if terms.is_empty() {
        return indexes.keys().filter(|n| *n == "main").collect();
    }
    for term in terms {
        let pattern = Pattern::new(&term.value);
        let wanted = !term.negated && term.op == CompareOp::Eq;
        if wanted && pattern.is_literal() && !indexes.keys().any(|n| pattern.matches(n)) {
            messages.push(Message {
                level: Level::Warn,
                text: unknown_index_warning(&term.value),
            });
        }
    }
    indexes
        .keys()
        .filter(|name| {
            terms
                .iter()
                .all(|t| term_holds(t, Some(name), &Pattern::new(&t.value)))
        })
        .collect()
}

fn term_holds(term: &SearchTerm, value: Option<&str>, pattern: &Pattern) -> bool {
    let matched = value.map(|v| pattern.matches(v));
    let holds = match term.op {
        CompareOp::Eq => matched == Some(true),
        CompareOp::Ne => matched == Some(false),
    };
    holds != term.negated
}

/// The search's terms, and the `where`s decided with them, over one index's columns.
pub(crate) struct Filter<'c, 'q> {
    /// The conditions decided by code, one per column: the column, and whether each code
    /// passes (indexed by code; `0` for no value).
    pub(crate) by_code: Vec<(&'c Column, Vec<bool>)>,
    /// Terms on `_time` and `_raw`, decided row by row.
    pub(crate) slow: Vec<&'q SearchTerm>,
    /// Whether no row can pass (a term or `where` on a field the index lacks).
    pub(crate) nothing: bool,
}

impl<'c, 'q> Filter<'c, 'q> {
    pub(crate) fn new(
        columns: &'c Columns,
        terms: &[&'q SearchTerm],
        exact: &[&Condition],
    ) -> Self {
        // Terms on columns are decided once per distinct value, then per row by code. On a
        // column whose value a `where` fixes, only that value's code can pass: the other
        // conditions on the column are decided for it alone (a user's id among many).
        let fixed = |column: &Column| -> Option<Option<u32>> {
            exact.iter().find_map(|c| {
                (c.op == CompareOp::Eq
                    && columns
                        .column(c.field.as_str())
                        .is_some_and(|other| std::ptr::eq(other, column)))
                .then(|| column.dict.find(&c.value))
            })
        };
        let each_code = |column: &Column, holds: &dyn Fn(Option<&str>) -> bool| match fixed(column)
        {
            Some(code) => {
                let mut table = vec![false; column.dict.len() + 1];
                if let Some(code) = code {
                    table[code as usize] = holds(Some(column.dict.get(code)));
                }
                table
            }
            None => each_code(column, holds),
        };
        let mut by_code: Vec<(&Column, Vec<bool>)> = Vec::new();
        let mut slow: Vec<&SearchTerm> = Vec::new();
        let mut nothing = false;
        for term in terms {
            let pattern = Pattern::new(&term.value);
            let field = term.field.as_str();
            if let Some(column) = columns.column(field) {
                by_code.push((
                    column,
                    each_code(column, &|v| term_holds(term, v, &pattern)),
                ));
            } else if field == "_time" || field == "_raw" {
                slow.push(term);
            } else if !term_holds(term, None, &pattern) {
                // A field no event of this index has.
                nothing = true;
            }
        }
        for condition in exact {
            let Some(column) = columns.column(condition.field.as_str()) else {
                // `where` on a field no event of this index has: no row passes.
                nothing = true;
                continue;
            };
            by_code.push((column, each_code(column, &|v| where_::holds(condition, v))));
        }
        // Conditions on one column (a search term and the `where` that makes it exact) are
        // one pass.
        let mut merged: Vec<(&Column, Vec<bool>)> = Vec::new();
        for (column, holds) in by_code {
            match merged.iter_mut().find(|(c, _)| std::ptr::eq(*c, column)) {
                Some((_, all)) => all.iter_mut().zip(holds).for_each(|(a, h)| *a &= h),
                None => merged.push((column, holds)),
            }
        }
        Self {
            by_code: merged,
            slow,
            nothing,
        }
    }

    /// The condition on a column of few values that keeps the fewest rows of `range` (rows of
    /// `columns` in the window), when it keeps at most one in [`FEW`] of them: its place, its
    /// column's postings (see [`Column::postings`]), and about how many rows it keeps (at
    /// least as many as it does). `None` when no condition keeps so few (reading every row's
    /// codes is then as quick), or a term is decided row by row.
    pub(crate) fn few(&self, columns: &Columns, range: &std::ops::Range<usize>) -> Option<Few> {
        if !self.slow.is_empty() || self.nothing {
            return None;
        }
        let rows = columns.times.len();
        let few = self
            .by_code
            .iter()
            .enumerate()
            .filter_map(|(condition, (column, holds))| {
                let postings = column.postings(rows)?;
                let newer = range.end.saturating_sub(postings.rows().max(range.start));
                let about = holding(holds)
                    .map(|code| postings.about(code, range.clone()))
                    .sum::<usize>()
                    + newer;
                Some(Few {
                    condition,
                    postings,
                    about,
                })
            })
            .min_by_key(|few| few.about)?;
        (few.about.saturating_mul(FEW) <= range.len()).then_some(few)
    }

    /// The rows of `range` (rows of `columns` in the window) that pass, ascending, found from
    /// the postings of the condition `few` (see [`few`](Self::few)), then narrowed by the
    /// other conditions and, where the times are not sorted, the window `(earliest, latest)`
    /// (µs): a chunk of rows at a time, so that no more is held than the rows that pass, in
    /// two halves on two threads.
    pub(crate) fn selected(
        &self,
        columns: &Columns,
        range: std::ops::Range<usize>,
        few: &Few,
        (earliest, latest): (i64, i64),
    ) -> Vec<u32> {
        const CHUNK: usize = 1 << 16;
        let Few {
            condition: best,
            postings,
            ..
        } = few;
        let (column, holds) = &self.by_code[*best];
        let codes: Vec<u32> = holding(holds).collect();
        let part = |part: std::ops::Range<usize>| -> Vec<u32> {
            let part = range.start + part.start..range.start + part.end;
            let mut selected = Vec::new();
            let mut chunk = Vec::new();
            for start in part.clone().step_by(CHUNK) {
                let rows = start..(start + CHUNK).min(part.end);
                chunk.clear();
                for &code in &codes {
                    postings.rows_of(code, rows.clone(), &mut chunk);
                }
                if codes.len() > 1 {
                    chunk.sort_unstable();
                }
                // Rows newer than the postings: by their codes.
                let newer = postings.rows().max(rows.start)..rows.end;
                if !newer.is_empty() {
                    chunk.extend(column.select(newer, holds));
                }
                self.narrow(columns, &mut chunk, Some(*best), (earliest, latest));
                selected.extend_from_slice(&chunk);
            }
            selected
        };
        let mut halves = in_halves(range.len(), part).into_iter();
        let mut selected = halves.next().unwrap_or_default();
        for half in halves {
            selected.extend(half);
        }
        selected
    }

    /// Keeps the `rows` (ascending) that pass the conditions by code but the one at `decided`
    /// (which picked them), and, where the times are not sorted, the window `(earliest,
    /// latest)` (µs): a window is a range of rows exactly when the times are sorted.
    fn narrow(
        &self,
        columns: &Columns,
        rows: &mut Vec<u32>,
        decided: Option<usize>,
        (earliest, latest): (i64, i64),
    ) {
        if !columns.sorted {
            rows.retain(|&row| {
                let t = columns.times[row as usize];
                earliest <= t && t < latest
            });
        }
        for (i, (column, holds)) in self.by_code.iter().enumerate() {
            if Some(i) != decided {
                column.retain(rows, holds);
            }
        }
    }

    /// The rows of `columns` (index `index`) in the window that pass, ascending.
    pub(crate) fn rows(
        &self,
        columns: &Columns,
        index: &str,
        store: &Store,
        window: &Window,
    ) -> Result<Vec<u32>, SearchError> {
        if self.nothing {
            return Ok(Vec::new());
        }
        let (earliest, latest) = window_micros(window);
        // The rows of a part of the window, one condition at a time: tight loops over the
        // codes. The first condition picks rows from the range; the others narrow them down.
        let filter = |range: std::ops::Range<usize>| -> Vec<u32> {
            let mut rows: Vec<u32> = match self.by_code.first() {
                Some((column, holds)) => column.select(range, holds),
                None => range.map(|r| r as u32).collect(),
            };
            self.narrow(columns, &mut rows, Some(0), (earliest, latest));
            rows
        };
        let range = columns.window_rows(earliest, latest);
        let mut rows: Vec<u32> = if self.by_code.is_empty() && columns.sorted {
            // Nothing to decide: the window's rows, written once.
            range.map(|r| r as u32).collect()
        } else {
            let mut rows = Vec::new();
            for part in in_halves(range.len(), |half| {
                filter(range.start + half.start..range.start + half.end)
            }) {
                rows.extend(part);
            }
            rows
        };

        for term in &self.slow {
            let pattern = Pattern::new(&term.value);
            let mut kept = Vec::with_capacity(rows.len());
            for row in rows {
                let value = if term.field.as_str() == "_time" {
                    format_time(columns.times[row as usize])
                } else {
                    store.raw(index, columns, row)?
                };
                if term_holds(term, Some(&value), &pattern) {
                    kept.push(row);
                }
            }
            rows = kept;
        }
        Ok(rows)
    }
}

/// A condition of a search that keeps few rows (see [`Filter::few`]).
pub(crate) struct Few {
    /// Its place among the filter's conditions by code.
    condition: usize,
    postings: std::sync::Arc<crate::postings::Postings>,
    /// About how many rows it keeps: at least as many as it does.
    pub(crate) about: usize,
}

/// A condition read from postings keeps at most one row in this many of those it is asked
/// about; past that, reading each row's codes in tight loops is as quick.
pub(crate) const FEW: usize = 8;

/// The codes for which `holds` (indexed by code).
fn holding(holds: &[bool]) -> impl Iterator<Item = u32> + '_ {
    holds
        .iter()
        .enumerate()
        .filter(|(_, holds)| **holds)
        .map(|(code, _)| code as u32)
}

/// Whether `holds` of each code of `column`, indexed by code (`0`: no value).
fn each_code(column: &Column, holds: &dyn Fn(Option<&str>) -> bool) -> Vec<bool> {
    std::iter::once(holds(None))
        .chain(column.dict.iter().map(|(_, value)| holds(Some(value))))
        .collect()
}

/// The window's bounds in microseconds, `None` where open.
pub(crate) fn window_bounds(window: &Window) -> (Option<i64>, Option<i64>) {
    (
        window.earliest.map(crate::store::time_micros),
        window.latest.map(crate::store::time_micros),
    )
}

/// The window's bounds in microseconds, open ends as the extreme instants.
pub(crate) fn window_micros(window: &Window) -> (i64, i64) {
    (
        window.earliest.map_or(i64::MIN, crate::store::time_micros),
        window.latest.map_or(i64::MAX, crate::store::time_micros),
    )
}
