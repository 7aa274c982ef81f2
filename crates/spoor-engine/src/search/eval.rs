//! The evaluator: search terms over the columnar index, then each command over a [`Frame`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use spoor_spl::ast::{
    Aggregate, Aggregation, Command, CompareOp, Condition, Fields, FieldsMode, Function, Query,
    Rename, SearchTerm, Sort, Stats,
};

use crate::columns::{BUILT_IN, Column, Columns};
use crate::hash::{FxHashMap, FxHashSet};
use crate::store::Store;

use super::direct;
use super::frame::{Col, Frame};
use super::text::{Pattern, format_number, format_time, number};
use super::timechart;
use super::{Level, Message, Results, SearchError, Window, unknown_index_warning};

/// Work over at least this many rows is split over two threads.
const PARALLEL_ROWS: usize = 1 << 17;

/// Runs `work` over `0..len`: in two halves on two threads when `len` is large (the machine has
/// at least two cores), else whole. The parts come in order.
pub(crate) fn in_halves<T: Send>(
    len: usize,
    work: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    if len < PARALLEL_ROWS {
        return vec![work(0..len)];
    }
    let middle = len / 2;
    std::thread::scope(|scope| {
        let second = scope.spawn(|| work(middle..len));
        let first = work(0..middle);
        let second = second
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        vec![first, second]
    })
}

/// Sort's default row limit, as Splunk's.
const SORT_DEFAULT_LIMIT: usize = 10_000;

/// Evaluates `query`; each result row goes to `keep` as it is made, and the search stops with
/// [`SearchError::Stopped`] when `keep` answers `false`.
pub(crate) fn evaluate(
    indexes: &BTreeMap<String, Columns>,
    store: &Store,
    query: &Query,
    window: &Window,
    keep: &mut dyn FnMut(&[Option<String>]) -> bool,
) -> Result<Results, SearchError> {
    // What the query and window alone decide is refused before any event is read.
    super::check(query, window)?;
    let mut messages = Vec::new();
    let (index_terms, terms): (Vec<&SearchTerm>, Vec<&SearchTerm>) = query
        .search
        .terms
        .iter()
        .partition(|t| t.field.as_str() == "index");
    let names = choose_indexes(indexes, &index_terms, &mut messages);

    // `where`s straight after the search, on fields the index holds as columns, are decided
    // with the search terms, by code; the rest run over the frame.
    let pushed = query
        .commands
        .iter()
        .take_while(|c| match c {
            Command::Where(w) => w
                .conditions
                .iter()
                .all(|c| !matches!(c.field.as_str(), "_time" | "_raw" | "index")),
            _ => false,
        })
        .count();
    let exact: Vec<&Condition> = query.commands[..pushed]
        .iter()
        .flat_map(|c| match c {
            Command::Where(w) => w.conditions.iter(),
            _ => [].iter(),
        })
        .collect();
    let commands = &query.commands[pushed..];
    let transform = commands
        .iter()
        .position(|c| matches!(c, Command::Stats(_) | Command::Timechart(_)));
    let listing = transform.is_none();
    let wanted = Wanted::new(&commands[..transform.map_or(0, |t| t + 1)], listing);
    // Events come newest first: in a listing, and wherever `head` or `sort` sees them.
    let ordered = commands[..transform.unwrap_or(commands.len())]
        .iter()
        .any(|c| matches!(c, Command::Head(_) | Command::Sort(_)));
    // The events' times are gathered only for what orders or charts them.
    let times = listing
        || ordered
        || wanted.wants("_time")
        || commands.iter().any(|c| matches!(c, Command::Timechart(_)));

    let filters: Vec<(&String, &Columns, Filter<'_, '_>)> = names
        .into_iter()
        .map(|name| {
            let columns = &indexes[name];
            (name, columns, Filter::new(columns, &terms, &exact))
        })
        .collect();
    // A `stats` or `timechart` straight after the search of one index is aggregated from the
    // index's columns where it can be.
    if let ([(_, columns, filter)], [first, rest @ ..], Some(0)) =
        (filters.as_slice(), commands, transform)
        && let Some(frame) = direct::aggregate(columns, filter, window, first)
    {
        let mut frame = frame?;
        for command in rest {
            frame = run(frame, command)?;
        }
        return results(frame, messages, keep);
    }

    let mut frame = Frame {
        times: times.then(Vec::new),
        ..Frame::default()
    };
    for (name, columns, filter) in &filters {
        let rows = filter.rows(columns, name, store, window)?;
        let part = gather(columns, name, store, &rows, &wanted, times)?;
        frame.append(part);
    }
    frame.window = window_bounds(window);
    if listing || ordered {
        frame = events_view(frame);
    }
    // While rows are events (up to the first transforming command), a field exists only where
    // some row has a value.
    // (Gathering dropped the fields no row has; only `where`, `head` and `sort` take rows away.)
    for (i, command) in commands.iter().enumerate() {
        let after_cut = i > 0 && takes_rows(&commands[i - 1]);
        if after_cut && transform.is_none_or(|t| i <= t) {
            frame = drop_empty_fields(frame);
        }
        frame = run(frame, command)?;
    }
    if commands.last().is_some_and(takes_rows) && transform.is_none() {
        frame = drop_empty_fields(frame);
    }
    results(frame, messages, keep)
}

/// The indexes the `index` terms select; `main` when there are none.
fn choose_indexes<'i>(
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
    fn new(columns: &'c Columns, terms: &[&'q SearchTerm], exact: &[&Condition]) -> Self {
        // Terms on columns are decided once per distinct value, then per row by code.
        let mut by_code: Vec<(&Column, Vec<bool>)> = Vec::new();
        let mut slow: Vec<&SearchTerm> = Vec::new();
        let mut nothing = false;
        for term in terms {
            let pattern = Pattern::new(&term.value);
            let field = term.field.as_str();
            if let Some(column) = columns.column(field) {
                let mut holds = vec![term_holds(term, None, &pattern)];
                holds.extend(
                    column
                        .dict
                        .iter()
                        .map(|(_, value)| term_holds(term, Some(value), &pattern)),
                );
                by_code.push((column, holds));
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
            let mut holds = vec![false];
            holds.extend(column.dict.iter().map(|(_, value)| match condition.op {
                CompareOp::Eq => value == condition.value,
                CompareOp::Ne => value != condition.value,
            }));
            by_code.push((column, holds));
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

    /// The rows of `columns` (index `index`) in the window that pass, ascending.
    fn rows(
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
            let mut conditions = self.by_code.iter();
            let mut rows: Vec<u32> = match conditions.next() {
                Some((column, holds)) => column.select(range, holds),
                None => range.map(|r| r as u32).collect(),
            };
            // A window is a range of rows exactly when the times are sorted; else check each.
            if !columns.sorted {
                rows.retain(|&row| {
                    let t = columns.times[row as usize];
                    earliest <= t && t < latest
                });
            }
            for (column, holds) in conditions {
                column.retain(&mut rows, holds);
            }
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
                    store.read(index, columns.location(row))?.raw
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

/// Which columns the commands read before the rows stop being events.
struct Wanted {
    all: bool,
    patterns: Vec<spoor_spl::ast::FieldPattern>,
}

impl Wanted {
    fn new(commands: &[Command], listing: bool) -> Self {
        let mut patterns = Vec::new();
        for command in commands {
            match command {
                Command::Where(w) => {
                    patterns.extend(w.conditions.iter().map(|c| c.field.clone().into()));
                }
                Command::Stats(s) => {
                    patterns.extend(s.by.iter().map(|f| f.clone().into()));
                    patterns.extend(s.aggregations.iter().filter_map(aggregated_field));
                }
                Command::Timechart(t) => {
                    patterns.extend(t.by.iter().map(|f| f.clone().into()));
                    patterns.extend(aggregated_field(&t.aggregation));
                }
                Command::Rename(r) => patterns.extend(r.renamings.iter().map(|r| r.from.clone())),
                Command::Fields(f) => patterns.extend(f.fields.iter().cloned()),
                Command::Sort(s) => patterns.extend(s.keys.iter().map(|k| k.field.clone().into())),
                // `head` reads no field; the others are refused by `super::check` first.
                Command::Head(_)
                | Command::WhereExpr(_)
                | Command::Eval(_)
                | Command::Eventstats(_)
                | Command::Streamstats(_)
                | Command::Bin(_)
                | Command::Dedup(_) => {}
            }
        }
        Self {
            all: listing,
            patterns,
        }
    }

    fn wants(&self, name: &str) -> bool {
        self.all || self.patterns.iter().any(|p| p.matches(name))
    }
}

fn aggregated_field(aggregation: &Aggregation) -> Option<spoor_spl::ast::FieldPattern> {
    match &aggregation.aggregate {
        Aggregate::Count => None,
        Aggregate::Apply { field, .. } => Some(field.clone()),
    }
}

/// The frame of `rows`, with the wanted columns.
fn gather<'a>(
    columns: &'a Columns,
    index: &str,
    store: &Store,
    rows: &[u32],
    wanted: &Wanted,
    times: bool,
) -> Result<Frame<'a>, SearchError> {
    let mut frame = Frame {
        len: rows.len(),
        times: times.then(|| rows.iter().map(|&r| columns.times[r as usize]).collect()),
        ..Frame::default()
    };
    if rows.is_empty() {
        return Ok(frame);
    }
    if wanted.wants("_time") {
        let times = frame.times.as_deref().unwrap_or_default();
        frame.cols.push(Col::from_values(
            "_time",
            times.iter().map(|t| Some(format_time(*t))),
        ));
    }
    if wanted.wants("_raw") {
        let mut raws = Vec::with_capacity(rows.len());
        for &row in rows {
            raws.push(Some(store.read(index, columns.location(row))?.raw));
        }
        frame.cols.push(Col::from_values("_raw", raws));
    }
    if wanted.wants("index") {
        frame
            .cols
            .push(Col::from_values("index", rows.iter().map(|_| Some(index))));
    }
    for (name, column) in [
        ("sourcetype", &columns.sourcetype),
        ("source", &columns.source),
        ("host", &columns.host),
    ]
    .into_iter()
    .chain(columns.fields())
    {
        if wanted.wants(name) {
            let codes: Vec<u32> = in_halves(rows.len(), |half| column.gather(&rows[half])).concat();
            // A field none of these rows has is no column of theirs.
            if codes.iter().any(|&c| c != 0) {
                frame.cols.push(Col {
                    name: name.to_owned(),
                    dict: Cow::Borrowed(&column.dict),
                    codes,
                });
            }
        }
    }
    Ok(frame)
}

/// Events as a listing shows them: newest first, the built-in columns then the others sorted.
fn events_view(mut frame: Frame<'_>) -> Frame<'_> {
    // The built-in fields are columns even when no event matched.
    for name in BUILT_IN {
        if frame.col(name).is_none() {
            frame
                .cols
                .push(Col::from_values::<&str>(name, vec![None; frame.len]));
        }
    }
    let times = frame.times.clone().unwrap_or_default();
    let mut order: Vec<usize> = (0..frame.len).collect();
    // Rows arrive index by index in write order; a stable sort keeps write order for ties.
    order.sort_by(|&a, &b| times[b].cmp(&times[a]));
    let mut frame = frame.select(&order);
    frame.cols.sort_by(|a, b| {
        let rank = |name: &str| {
            BUILT_IN
                .iter()
                .position(|n| *n == name)
                .unwrap_or(BUILT_IN.len())
        };
        rank(&a.name)
            .cmp(&rank(&b.name))
            .then_with(|| a.name.cmp(&b.name))
    });
    frame
}

/// Whether a command can take rows away (`sort` keeps at most its limit).
fn takes_rows(command: &Command) -> bool {
    matches!(
        command,
        Command::Where(_) | Command::Head(_) | Command::Sort(_)
    )
}

/// Removes the extracted fields no row has (the built-in ones stay).
fn drop_empty_fields(mut frame: Frame<'_>) -> Frame<'_> {
    frame
        .cols
        .retain(|c| BUILT_IN.contains(&c.name.as_str()) || c.codes.iter().any(|&code| code != 0));
    frame
}

fn run<'a>(frame: Frame<'a>, command: &Command) -> Result<Frame<'a>, SearchError> {
    Ok(match command {
        Command::Where(w) => {
            let mut rows: Vec<usize> = (0..frame.len).collect();
            for condition in &w.conditions {
                let Some(col) = frame.col(condition.field.as_str()) else {
                    rows.clear();
                    break;
                };
                let target = col.dict.find(&condition.value);
                rows.retain(|&r| {
                    let code = col.codes[r];
                    match condition.op {
                        CompareOp::Eq => code != 0 && Some(code) == target,
                        CompareOp::Ne => code != 0 && Some(code) != target,
                    }
                });
            }
            if rows.len() == frame.len {
                frame
            } else {
                frame.select(&rows)
            }
        }
        Command::Stats(stats) => run_stats(&frame, stats),
        Command::Timechart(chart) => timechart::run(&frame, chart)?,
        Command::Rename(rename) => run_rename(frame, rename),
        Command::Fields(fields) => run_fields(frame, fields),
        Command::Sort(sort) => run_sort(frame, sort),
        Command::Head(head) => {
            let n = usize::try_from(head.count)
                .unwrap_or(usize::MAX)
                .min(frame.len);
            frame.select(&(0..n).collect::<Vec<_>>())
        }
        Command::WhereExpr(_)
        | Command::Eval(_)
        | Command::Eventstats(_)
        | Command::Streamstats(_)
        | Command::Bin(_)
        | Command::Dedup(_) => return Err(super::not_yet(command)),
    })
}

/// One aggregation bound to a column (or to rows, for `count`), with its output name.
pub(crate) struct Bound<'f, 'a> {
    pub(crate) function: Option<Function>,
    pub(crate) col: Option<&'f Col<'a>>,
    pub(crate) name: String,
}

/// Expands wildcard fields against the frame's columns: the fields of the input rows, the
/// columns some row has a value in.
pub(crate) fn bind<'f, 'a>(frame: &'f Frame<'a>, aggregation: &Aggregation) -> Vec<Bound<'f, 'a>> {
    bind_matching(frame, aggregation, |c| {
        c.codes.iter().any(|&code| code != 0)
    })
}

/// Expands wildcard fields against the frame's columns for which `keep` holds.
pub(crate) fn bind_matching<'f, 'a>(
    frame: &'f Frame<'a>,
    aggregation: &Aggregation,
    keep: impl Fn(&Col<'a>) -> bool,
) -> Vec<Bound<'f, 'a>> {
    match &aggregation.aggregate {
        Aggregate::Count => vec![Bound {
            function: None,
            col: None,
            name: aggregation.output_name(),
        }],
        Aggregate::Apply { function, field } => {
            if field.wildcards() == 0 {
                return vec![Bound {
                    function: Some(*function),
                    col: frame.col(field.as_str()),
                    name: aggregation.output_name(),
                }];
            }
            let mut matching: Vec<&Col<'a>> = frame
                .cols
                .iter()
                .filter(|c| field.matches(&c.name) && keep(c))
                .collect();
            matching.sort_by(|a, b| a.name.cmp(&b.name));
            matching
                .into_iter()
                .map(|col| {
                    let captures = field.captures(&col.name).unwrap_or_default();
                    let name = match &aggregation.alias {
                        Some(alias) => alias.expand(&captures),
                        None => format!("{}({})", function.name(), col.name),
                    };
                    Bound {
                        function: Some(*function),
                        col: Some(col),
                        name,
                    }
                })
                .collect()
        }
    }
}

/// The running state of one aggregation over some rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Acc {
    pub(crate) rows: u64,
    pub(crate) present: u64,
    pub(crate) distinct: Distinct,
    sum: f64,
    numbers: u64,
    min: Option<f64>,
    max: Option<f64>,
    min_text: Option<u32>,
    max_text: Option<u32>,
}

impl Acc {
    /// Adds one row to the state of aggregation `bound` (`numbers`: each code read as a number).
    #[inline]
    pub(crate) fn add(&mut self, bound: &Bound<'_, '_>, row: usize, numbers: &[Option<f64>]) {
        self.rows += 1;
        let Some(col) = bound.col else { return };
        let code = col.codes[row];
        if code == 0 {
            return;
        }
        self.present += 1;
        match bound.function {
            Some(Function::DistinctCount) => self.distinct.insert(code, col.dict.len()),
            Some(Function::Sum | Function::Avg | Function::Min | Function::Max) => {
                if let Some(x) = numbers[code as usize] {
                    self.sum += x;
                    self.numbers += 1;
                    self.min = Some(self.min.map_or(x, |m| m.min(x)));
                    self.max = Some(self.max.map_or(x, |m| m.max(x)));
                } else {
                    let text = col.dict.get(code);
                    if self.min_text.is_none_or(|m| text < col.dict.get(m)) {
                        self.min_text = Some(code);
                    }
                    if self.max_text.is_none_or(|m| text > col.dict.get(m)) {
                        self.max_text = Some(code);
                    }
                }
            }
            // `count`, `count(f)`, and the functions `super::computes` does not have, which are
            // refused before any row is read.
            _ => {}
        }
    }

    /// Adds the rows `other` saw (of the same aggregation) to this state.
    pub(crate) fn merge(&mut self, other: &Self, bound: &Bound<'_, '_>) {
        self.rows += other.rows;
        self.present += other.present;
        self.sum += other.sum;
        self.numbers += other.numbers;
        self.min = match (self.min, other.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, other.max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let Some(col) = bound.col {
            let text = |code: u32| col.dict.get(code);
            if let Some(m) = other.min_text
                && self.min_text.is_none_or(|s| text(m) < text(s))
            {
                self.min_text = Some(m);
            }
            if let Some(m) = other.max_text
                && self.max_text.is_none_or(|s| text(m) > text(s))
            {
                self.max_text = Some(m);
            }
            self.distinct.extend(&other.distinct, col.dict.len());
        }
    }

    /// The aggregate's value; `None` when it has none.
    pub(crate) fn value(&self, bound: &Bound<'_, '_>) -> Option<String> {
        let number = |x: Option<f64>| x.map(format_number);
        let text =
            |code: Option<u32>| code.and_then(|c| bound.col.map(|col| col.dict.get(c).to_owned()));
        match bound.function {
            None => Some(self.rows.to_string()),
            Some(Function::Count) => Some(self.present.to_string()),
            Some(Function::DistinctCount) => Some(self.distinct.count().to_string()),
            Some(Function::Sum) => (self.numbers > 0).then(|| format_number(self.sum)),
            Some(Function::Avg) => {
                (self.numbers > 0).then(|| format_number(self.sum / self.numbers as f64))
            }
            Some(Function::Min) => number(self.min).or_else(|| text(self.min_text)),
            Some(Function::Max) => number(self.max).or_else(|| text(self.max_text)),
            // The functions `super::computes` does not have are refused before any row is read.
            Some(_) => None,
        }
    }
}

/// A set of codes: hashed while small, a bitmap over the dictionary once that is smaller.
#[derive(Debug, Clone)]
pub(crate) enum Distinct {
    Hashed(FxHashSet<u32>),
    Bitmap { bits: Vec<u64>, count: usize },
}

impl Default for Distinct {
    fn default() -> Self {
        Self::Hashed(FxHashSet::default())
    }
}

impl Distinct {
    #[inline]
    pub(crate) fn insert(&mut self, code: u32, dict_len: usize) {
        match self {
            Self::Hashed(set) => {
                set.insert(code);
                // A hashed code costs about 8 bytes, the bitmap 1 bit per dictionary entry.
                if set.len() * 64 > dict_len + 1 {
                    let mut bits = vec![0u64; (dict_len + 1).div_ceil(64)];
                    for &c in set.iter() {
                        bits[c as usize / 64] |= 1 << (c % 64);
                    }
                    *self = Self::Bitmap {
                        bits,
                        count: set.len(),
                    };
                }
            }
            Self::Bitmap { bits, count } => {
                let (word, bit) = (code as usize / 64, 1u64 << (code % 64));
                if let Some(w) = bits.get_mut(word)
                    && *w & bit == 0
                {
                    *w |= bit;
                    *count += 1;
                }
            }
        }
    }

    /// The codes whose bits are set in `bits`, a bitmap over a dictionary of `dict_len` values
    /// (bit `0`, no value, left out), in the form [`insert`](Self::insert) gives such a set.
    pub(crate) fn from_bits(bits: &[u64], dict_len: usize) -> Self {
        let mut bits = bits.to_vec();
        if let Some(first) = bits.first_mut() {
            *first &= !1;
        }
        let count = bits.iter().map(|w| w.count_ones() as usize).sum();
        let bitmap = Self::Bitmap { bits, count };
        if count * 64 > dict_len + 1 {
            return bitmap;
        }
        let mut set = FxHashSet::default();
        bitmap.for_each(|code| {
            set.insert(code);
        });
        Self::Hashed(set)
    }

    /// Adds the codes of `other` (over the same dictionary, of `dict_len` values).
    fn extend(&mut self, other: &Self, dict_len: usize) {
        match (&mut *self, other) {
            (Self::Bitmap { bits, count }, Self::Bitmap { bits: theirs, .. })
                if bits.len() == theirs.len() =>
            {
                for (mine, theirs) in bits.iter_mut().zip(theirs) {
                    *mine |= theirs;
                }
                *count = bits.iter().map(|w| w.count_ones() as usize).sum();
            }
            _ => other.for_each(|code| self.insert(code, dict_len)),
        }
    }

    pub(crate) fn count(&self) -> usize {
        match self {
            Self::Hashed(set) => set.len(),
            Self::Bitmap { count, .. } => *count,
        }
    }

    fn for_each(&self, mut f: impl FnMut(u32)) {
        match self {
            Self::Hashed(set) => set.iter().for_each(|&c| f(c)),
            Self::Bitmap { bits, .. } => {
                for (i, &word) in bits.iter().enumerate() {
                    let mut word = word;
                    while word != 0 {
                        f(i as u32 * 64 + word.trailing_zeros());
                        word &= word - 1;
                    }
                }
            }
        }
    }
}

/// Each code's value read as a number, by code (index 0 for "no value"), for the aggregations
/// that read numbers.
pub(crate) fn numbers_of(bound: &Bound<'_, '_>) -> Vec<Option<f64>> {
    let numeric = matches!(
        bound.function,
        Some(Function::Sum | Function::Avg | Function::Min | Function::Max)
    );
    let Some(col) = bound.col.filter(|_| numeric) else {
        return Vec::new();
    };
    std::iter::once(None)
        .chain(col.dict.iter().map(|(_, v)| number(v)))
        .collect()
}

/// Adds the rows in `rows` (those with a group) to their group's state of aggregation `b`.
fn accumulate(
    accs: &mut [Acc],
    b: &Bound<'_, '_>,
    numbers: &[Option<f64>],
    group_of_row: &[u32],
    rows: std::ops::Range<usize>,
) {
    let start = rows.start;
    let rows = group_of_row[rows]
        .iter()
        .enumerate()
        .filter(|(_, g)| **g != u32::MAX)
        .map(|(i, g)| (start + i, *g as usize));
    Update::of(b, numbers).run(rows, accs);
}

/// How one row changes the state of an aggregation: `count`, `count(f)` and `dc(f)` in the
/// fewest steps, the others through [`Acc::add`].
pub(crate) enum Update<'u, 'f, 'a> {
    /// `count`.
    Rows,
    /// `count(f)`.
    Present(&'f Col<'a>),
    /// `dc(f)`, with the dictionary's size.
    Distinct(&'f Col<'a>, usize),
    /// The rest.
    Other(&'u Bound<'f, 'a>, &'u [Option<f64>]),
}

impl<'u, 'f, 'a> Update<'u, 'f, 'a> {
    pub(crate) fn of(b: &'u Bound<'f, 'a>, numbers: &'u [Option<f64>]) -> Self {
        match (b.function, b.col) {
            (None, _) => Self::Rows,
            (Some(Function::Count), Some(col)) => Self::Present(col),
            (Some(Function::DistinctCount), Some(col)) => Self::Distinct(col, col.dict.len()),
            _ => Self::Other(b, numbers),
        }
    }

    /// Applies the update to `accs[group]` for each `(row, group)`, deciding the kind once, so
    /// each kind is a loop of its own.
    fn run(&self, rows: impl Iterator<Item = (usize, usize)>, accs: &mut [Acc]) {
        let each = |update: &Self| {
            for (row, group) in rows {
                update.apply(&mut accs[group], row);
            }
        };
        // A value built in each arm has a kind the compiler knows, so `apply` folds away.
        match *self {
            Self::Rows => each(&Self::Rows),
            Self::Present(col) => each(&Self::Present(col)),
            Self::Distinct(col, len) => each(&Self::Distinct(col, len)),
            Self::Other(b, numbers) => each(&Self::Other(b, numbers)),
        }
    }

    /// Adds one row to a state.
    #[inline]
    pub(crate) fn apply(&self, acc: &mut Acc, row: usize) {
        match self {
            Self::Rows => acc.rows += 1,
            Self::Present(col) => acc.present += u64::from(col.codes[row] != 0),
            Self::Distinct(col, dict_len) => {
                let code = col.codes[row];
                if code != 0 {
                    acc.distinct.insert(code, *dict_len);
                }
            }
            Self::Other(b, numbers) => acc.add(b, row, numbers),
        }
    }
}

fn run_stats<'a>(frame: &Frame<'a>, stats: &Stats) -> Frame<'a> {
    let bound: Vec<Bound<'_, 'a>> = stats
        .aggregations
        .iter()
        .flat_map(|a| bind(frame, a))
        .collect();
    let numbers: Vec<Vec<Option<f64>>> = bound.iter().map(numbers_of).collect();
    let by: Option<Vec<&Col<'a>>> = stats.by.iter().map(|f| frame.col(f.as_str())).collect();

    // First each row's group (`u32::MAX`: dropped), then each aggregation in its own loop.
    let mut keys: Vec<Vec<u32>> = Vec::new();
    let mut group_of_row: Vec<u32> = Vec::with_capacity(frame.len);
    match by.as_ref().filter(|by| !by.is_empty()) {
        // A by field no row has: no group at all.
        None if !stats.by.is_empty() => group_of_row.resize(frame.len, u32::MAX),
        None => {
            keys.push(Vec::new());
            group_of_row.resize(frame.len, 0);
        }
        Some(by) => {
            // Each group's key packed in one integer (mixed radix over the dictionaries' sizes)
            // when it fits, else a vector; small key spaces are looked up directly.
            let radices: Vec<u64> = by.iter().map(|c| c.dict.len() as u64 + 1).collect();
            let space = radices.iter().try_fold(1u64, |acc, r| acc.checked_mul(*r));
            let mut direct: Vec<u32> = match space {
                Some(n) if n <= 1 << 16 => vec![u32::MAX; n as usize],
                _ => Vec::new(),
            };
            let mut packed: FxHashMap<u64, u32> = FxHashMap::default();
            let mut wide: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
            for row in 0..frame.len {
                if by.iter().any(|c| c.codes[row] == 0) {
                    group_of_row.push(u32::MAX);
                    continue;
                }
                let mut new_group = || {
                    keys.push(by.iter().map(|c| c.codes[row]).collect());
                    (keys.len() - 1) as u32
                };
                let group = if space.is_some() {
                    let key = by
                        .iter()
                        .zip(&radices)
                        .fold(0u64, |acc, (c, r)| acc * r + u64::from(c.codes[row]));
                    match direct.get_mut(key as usize) {
                        Some(slot) if *slot != u32::MAX => *slot,
                        Some(slot) => {
                            *slot = new_group();
                            *slot
                        }
                        None => *packed.entry(key).or_insert_with(new_group),
                    }
                } else {
                    let key: Vec<u32> = by.iter().map(|c| c.codes[row]).collect();
                    *wide.entry(key).or_insert_with(new_group)
                };
                group_of_row.push(group);
            }
        }
    }
    // Each aggregation over each half of the rows, then the halves' states merged.
    let aggregate = |half: std::ops::Range<usize>| -> Vec<Vec<Acc>> {
        let mut accs: Vec<Vec<Acc>> = bound
            .iter()
            .map(|_| vec![Acc::default(); keys.len()])
            .collect();
        for (i, b) in bound.iter().enumerate() {
            accumulate(&mut accs[i], b, &numbers[i], &group_of_row, half.clone());
        }
        accs
    };
    let mut parts = in_halves(frame.len, aggregate).into_iter();
    let mut accs = parts.next().unwrap_or_default();
    for part in parts {
        for (i, b) in bound.iter().enumerate() {
            for (into, from) in accs[i].iter_mut().zip(&part[i]) {
                into.merge(from, b);
            }
        }
    }
    stats_output(stats, by.as_deref(), &keys, &bound, &accs, frame.window)
}

/// The rows `stats` gives: one per group (`keys`: each group's codes in the `by` columns),
/// sorted by the by values, with each aggregation's value (`accs`: by aggregation, by group).
/// `by` is `None` when the rows lack a by field.
pub(crate) fn stats_output<'a>(
    stats: &Stats,
    by: Option<&[&Col<'a>]>,
    keys: &[Vec<u32>],
    bound: &[Bound<'_, 'a>],
    accs: &[Vec<Acc>],
    window: (Option<i64>, Option<i64>),
) -> Frame<'a> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    if let Some(by) = by {
        order.sort_by(|&a, &b| {
            by.iter()
                .enumerate()
                .map(|(i, c)| {
                    c.dict
                        .get(keys[a][i])
                        .as_bytes()
                        .cmp(c.dict.get(keys[b][i]).as_bytes())
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    let mut out = Frame {
        len: order.len(),
        window,
        ..Frame::default()
    };
    for (i, field) in stats.by.iter().enumerate() {
        out.set(match by {
            Some(by) => Col {
                name: field.as_str().to_owned(),
                dict: by[i].dict.clone(),
                codes: order.iter().map(|&g| keys[g][i]).collect(),
            },
            // A by field no row has: no group, but the column is there.
            None => Col::from_values::<&str>(field.as_str(), Vec::new()),
        });
    }
    for (i, b) in bound.iter().enumerate() {
        out.set(Col::from_values(
            b.name.clone(),
            order.iter().map(|&g| accs[i][g].value(b)),
        ));
    }
    if out.cols.is_empty() {
        out.len = 0;
    }
    out
}

fn run_rename<'a>(mut frame: Frame<'a>, rename: &Rename) -> Frame<'a> {
    for renaming in &rename.renamings {
        let mut renamed: Vec<(usize, String)> = Vec::new();
        for (i, col) in frame.cols.iter().enumerate() {
            if let Some(captures) = renaming.from.captures(&col.name) {
                renamed.push((i, renaming.to.expand(&captures)));
            }
        }
        for (i, name) in &renamed {
            frame.cols[*i].name.clone_from(name);
        }
        // A renamed column replaces any other column of its new name.
        let targets: Vec<&String> = renamed.iter().map(|(_, n)| n).collect();
        let keep: Vec<bool> = frame
            .cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let is_renamed = renamed.iter().any(|(r, _)| *r == i);
                is_renamed || !targets.contains(&&c.name)
            })
            .collect();
        let mut keep = keep.into_iter();
        frame.cols.retain(|_| keep.next().unwrap_or(true));
    }
    frame
}

fn run_fields<'a>(mut frame: Frame<'a>, fields: &Fields) -> Frame<'a> {
    match fields.mode {
        FieldsMode::Remove => {
            frame
                .cols
                .retain(|c| !fields.fields.iter().any(|p| p.matches(&c.name)));
        }
        FieldsMode::Keep => {
            let mut cols = std::mem::take(&mut frame.cols);
            let mut kept = Vec::new();
            for pattern in &fields.fields {
                let (matching, rest): (Vec<_>, Vec<_>) =
                    cols.into_iter().partition(|c| pattern.matches(&c.name));
                kept.extend(matching);
                cols = rest;
            }
            kept.extend(cols.into_iter().filter(|c| c.name.starts_with('_')));
            frame.cols = kept;
        }
    }
    frame
}

fn run_sort<'a>(frame: Frame<'a>, sort: &Sort) -> Frame<'a> {
    let empty = Col::from_values::<&str>("", std::iter::repeat_n(None, frame.len));
    let keys: Vec<(&Col<'a>, bool)> = sort
        .keys
        .iter()
        .map(|k| (frame.col(k.field.as_str()).unwrap_or(&empty), k.descending))
        .collect();
    let mut order = frame.order(&keys);
    let limit = match sort.limit {
        None => SORT_DEFAULT_LIMIT,
        Some(0) => usize::MAX,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    order.truncate(limit);
    frame.select(&order)
}

fn results(
    frame: Frame<'_>,
    messages: Vec<Message>,
    keep: &mut dyn FnMut(&[Option<String>]) -> bool,
) -> Result<Results, SearchError> {
    // Grown as rows are kept, so a search stopped early never held room for all of them.
    let mut rows = Vec::new();
    for r in 0..frame.len {
        let row: Vec<Option<String>> = frame
            .cols
            .iter()
            .map(|c| c.get(r).map(str::to_owned))
            .collect();
        if !keep(&row) {
            return Err(SearchError::Stopped);
        }
        rows.push(row);
    }
    Ok(Results {
        fields: frame.cols.iter().map(|c| c.name.clone()).collect(),
        rows,
        messages,
    })
}
