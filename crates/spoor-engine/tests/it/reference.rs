//! A reference evaluator of the SPL subset, written plainly from the semantics in the module doc
//! of `spoor_engine::search`, and sharing no code with the engine's evaluator.
//!
//! Correctness over speed: every command takes a whole table of rows held as maps and gives a
//! new one; nothing is indexed, cached or streamed. Where the doc leaves a choice open, the
//! choice made here is said at the place it is made (look for "Reading:").

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use spoor_engine::{Level, Message, Record, Results, Window};
use spoor_event::extract::Extractor;
use spoor_spl::ast::{
    Aggregate, Aggregation, Bin, BinSpan, BinaryOp, Command, CompareOp, Dedup, Eval, EvalFunction,
    Eventstats, Expr, FieldPattern, Fields, FieldsMode, Function, LogicOp, Query, Rename, Search,
    SearchTerm, Sort, SpanUnit, Stats, Streamstats, Timechart, UnaryOp, Where,
};
use spoor_spl::modifier::TimeModifier;
use time::{Date, Month, OffsetDateTime, UtcOffset};

/// The fields every event has, in the order they come as columns.
const EVENT_FIELDS: [&str; 6] = ["_time", "_raw", "index", "sourcetype", "source", "host"];

/// The index searched when the search names none.
const DEFAULT_INDEX: &str = "main";

/// `sort`'s row limit when none is given.
const DEFAULT_SORT_LIMIT: usize = 10_000;

/// `timechart`'s series limit when none is given.
const DEFAULT_SERIES_LIMIT: usize = 10;

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const SECONDS_PER_DAY: i128 = 86_400;

/// One row: its fields by name, and, while it is an event, the event's time.
#[derive(Debug, Clone)]
struct Row {
    values: BTreeMap<String, String>,
    /// The event's time in nanoseconds since the epoch (`None` for rows `stats` and
    /// `timechart` make).
    time_nanos: Option<i128>,
}

/// Rows and the ordered list of columns. Every name a row holds is one of the columns.
#[derive(Debug, Clone, Default)]
struct Table {
    columns: Vec<String>,
    rows: Vec<Row>,
}

/// Evaluates `query` over `records` (in the order they were written) as the semantics say.
///
/// `props` are the `props.conf` stanzas by sourcetype; `existing_indexes` the names of the
/// indexes that exist.
pub(crate) fn evaluate(
    records: &[Record],
    props: &BTreeMap<String, BTreeMap<String, String>>,
    existing_indexes: &[String],
    query: &Query,
    window: &Window,
) -> Results {
    let mut messages = Vec::new();
    let mut rows = search(
        records,
        props,
        existing_indexes,
        &query.search,
        window,
        &mut messages,
    );
    // The `where`s right after the search filter the events before their columns are listed.
    let leading = query
        .commands
        .iter()
        .take_while(|command| matches!(command, Command::Where(_)))
        .count();
    for command in &query.commands[..leading] {
        if let Command::Where(where_) = command {
            rows.retain(|row| where_holds(row, where_));
        }
    }
    let mut table = event_table(rows);
    // While rows are events (until a stats or timechart), a field exists only where some row
    // has a value: after a `where`, `head` or `sort` took rows away, the fields none left has go.
    let mut events = true;
    for command in &query.commands[leading..] {
        if matches!(command, Command::Stats(_) | Command::Timechart(_)) {
            events = false;
        }
        table = match command {
            Command::Where(where_) => filter_where(table, where_),
            Command::Stats(stats_) => stats(&table, stats_),
            Command::Timechart(chart) => timechart(&table, chart, window),
            Command::Rename(rename_) => rename(table, rename_),
            Command::Fields(fields_) => fields(table, fields_),
            Command::Sort(sort_) => sort(table, sort_),
            Command::Eventstats(eventstats_) => eventstats(table, eventstats_),
            Command::Streamstats(streamstats_) => streamstats(table, streamstats_),
            Command::Head(head) => {
                let mut table = table;
                let keep = usize::try_from(head.count).unwrap_or(usize::MAX);
                table.rows.truncate(keep);
                table
            }
            Command::WhereExpr(where_) => filter_expression(table, &where_.condition),
            Command::Eval(eval_) => eval(table, eval_),
            Command::Bin(bin_) => bin(table, bin_),
            Command::Dedup(dedup_) => dedup(table, dedup_),
        };
        if events
            && matches!(
                command,
                Command::Where(_)
                    | Command::Head(_)
                    | Command::Sort(_)
                    | Command::WhereExpr(_)
                    | Command::Eval(_)
                    | Command::Bin(_)
                    | Command::Dedup(_)
            )
        {
            let Table { columns, rows } = &mut table;
            columns.retain(|column| {
                EVENT_FIELDS.contains(&column.as_str())
                    || rows.iter().any(|row| row.values.contains_key(column))
            });
        }
    }
    let rows = table
        .rows
        .iter()
        .map(|row| {
            table
                .columns
                .iter()
                .map(|column| row.values.get(column).cloned())
                .collect()
        })
        .collect();
    Results {
        fields: table.columns,
        rows,
        messages,
    }
}

// ---------------------------------------------------------------------------------------------
// search

/// The events the search finds, newest first.
fn search(
    records: &[Record],
    props: &BTreeMap<String, BTreeMap<String, String>>,
    existing_indexes: &[String],
    search: &Search,
    window: &Window,
    messages: &mut Vec<Message>,
) -> Vec<Row> {
    // Reading: only a term `index=<value>` (not negated) chooses indexes; without one, the
    // search covers `main` only, as Splunk's default indexes do. The terms themselves then filter
    // the events, the index like any field.
    let index_terms: Vec<&SearchTerm> = search
        .terms
        .iter()
        .filter(|term| !term.negated && term.op == CompareOp::Eq && term.field.as_str() == "index")
        .collect();
    // Reading: one warning per distinct unknown name, in the order of the terms; index names
    // compare case-insensitively, as the term matches them.
    let mut warned: Vec<&str> = Vec::new();
    for term in &index_terms {
        let name = term.value.as_str();
        let exists = existing_indexes
            .iter()
            .any(|index| lower(index) == lower(name));
        if !name.contains('*') && !exists && !warned.contains(&name) {
            warned.push(name);
            messages.push(Message {
                level: Level::Warn,
                text: format!(
                    "Search on index '{name}' returned no results because the index does not exist."
                ),
            });
        }
    }

    let mut rows = Vec::new();
    for record in records {
        let time = i128::from(record.time_micros) * 1_000;
        if let Some(earliest) = window.earliest
            && time < earliest.unix_timestamp_nanos()
        {
            continue;
        }
        if let Some(latest) = window.latest
            && time >= latest.unix_timestamp_nanos()
        {
            continue;
        }
        if index_terms.is_empty() && record.index != DEFAULT_INDEX {
            continue;
        }
        let values = event_fields(record, props);
        if search.terms.iter().all(|term| term_holds(term, &values)) {
            rows.push(Row {
                values,
                time_nanos: Some(time),
            });
        }
    }
    // Newest first; the sort is stable, so ties stay in write order.
    rows.sort_by_key(|row| std::cmp::Reverse(row.time_nanos));
    rows
}

/// The events as a table: the six fields, then every extracted field any event has, sorted.
fn event_table(rows: Vec<Row>) -> Table {
    let mut columns: Vec<String> = EVENT_FIELDS.iter().map(|&f| f.to_owned()).collect();
    let extracted: BTreeSet<&String> = rows
        .iter()
        .flat_map(|row| row.values.keys())
        .filter(|name| !EVENT_FIELDS.contains(&name.as_str()))
        .collect();
    columns.extend(extracted.into_iter().cloned());
    Table { columns, rows }
}

/// The six fields of a record, then what its sourcetype's extraction finds in the raw text.
fn event_fields(
    record: &Record,
    props: &BTreeMap<String, BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    values.insert(
        "_time".to_owned(),
        print_time(i128::from(record.time_micros) * 1_000),
    );
    values.insert("_raw".to_owned(), record.raw.clone());
    values.insert("index".to_owned(), record.index.clone());
    values.insert("sourcetype".to_owned(), record.sourcetype.clone());
    values.insert("source".to_owned(), record.source.clone());
    values.insert("host".to_owned(), record.host.clone());

    let setting = |name: &str| {
        props
            .get(&record.sourcetype)
            .and_then(|settings| settings.get(name))
            .map(String::as_str)
    };
    // Reading: the settings' values are compared exactly (`auto_escaped`, `false`).
    let extractor = if setting("KV_MODE") == Some("auto_escaped") {
        Extractor::auto_escaped()
    } else {
        Extractor::auto()
    };
    let extractor = extractor.trim_spaces(setting("KV_TRIM_SPACES") != Some("false"));
    for field in extractor.fields(&record.raw) {
        // Never replaces one of the six; the first value of a repeated key is kept.
        values
            .entry(field.key.into_owned())
            .or_insert_with(|| field.value.into_owned());
    }
    values
}

fn term_holds(term: &SearchTerm, values: &BTreeMap<String, String>) -> bool {
    let value = values.get(term.field.as_str());
    let holds = match term.op {
        CompareOp::Eq => value.is_some_and(|v| wildcard_matches(&term.value, v)),
        CompareOp::Ne => value.is_some_and(|v| !wildcard_matches(&term.value, v)),
    };
    // Reading: `NOT` negates the whole term, `NOT f!=p` included (the field lacks, or matches).
    if term.negated { !holds } else { holds }
}

/// The text with every character lower-cased on its own.
///
/// Reading: "case-insensitively" is Unicode's lower-case mapping, character by character
/// (`char::to_lowercase`), so `Ä` matches `ä` and a final `Σ` matches `σ`.
fn lower(text: &str) -> Vec<char> {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// Whether `value` matches `pattern`, case-insensitively, `*` matching any run of characters.
fn wildcard_matches(pattern: &str, value: &str) -> bool {
    let pattern = lower(pattern);
    let value = lower(value);
    // matches[i][j]: the first i pattern characters match the first j value characters.
    let mut matches = vec![vec![false; value.len() + 1]; pattern.len() + 1];
    matches[0][0] = true;
    for i in 1..=pattern.len() {
        for j in 0..=value.len() {
            matches[i][j] = if pattern[i - 1] == '*' {
                matches[i - 1][j] || (j > 0 && matches[i][j - 1])
            } else {
                j > 0 && matches[i - 1][j - 1] && pattern[i - 1] == value[j - 1]
            };
        }
    }
    matches[pattern.len()][value.len()]
}

// ---------------------------------------------------------------------------------------------
// where

fn where_holds(row: &Row, where_: &Where) -> bool {
    where_.conditions.iter().all(|condition| {
        match (row.values.get(condition.field.as_str()), condition.op) {
            (None, _) => false,
            (Some(value), CompareOp::Eq) => value.as_bytes() == condition.value.as_bytes(),
            (Some(value), CompareOp::Ne) => value.as_bytes() != condition.value.as_bytes(),
        }
    })
}

fn filter_where(mut table: Table, where_: &Where) -> Table {
    table.rows.retain(|row| where_holds(row, where_));
    table
}

/// Whether `pattern` names `column` for `rename` and `fields`.
///
/// While rows are events their columns are the fields some row has, so matching the columns is
/// matching those fields; after a chart, `fields - _span*` still removes `_span` from a chart
/// without rows.
fn names(pattern: &FieldPattern, column: &str) -> bool {
    pattern.matches(column)
}

// ---------------------------------------------------------------------------------------------
// stats

/// One output column of `stats`: its name and what it computes.
#[derive(Debug, Clone)]
enum Output {
    /// `count`.
    Rows,
    /// A function over the values of one field.
    Apply(Function, String),
}

fn stats(table: &Table, stats: &Stats) -> Table {
    let kept: Vec<&Row> = table
        .rows
        .iter()
        .filter(|row| {
            stats
                .by
                .iter()
                .all(|field| row.values.contains_key(field.as_str()))
        })
        .collect();

    // The groups, sorted by their by values (byte-wise, first field first); without `by`, one
    // group holding every row, even none.
    let mut groups: BTreeMap<Vec<String>, Vec<&Row>> = BTreeMap::new();
    if stats.by.is_empty() {
        groups.insert(Vec::new(), kept.clone());
    }
    for &row in &kept {
        if stats.by.is_empty() {
            continue;
        }
        let key: Vec<String> = stats
            .by
            .iter()
            .map(|field| row.values[field.as_str()].clone())
            .collect();
        groups.entry(key).or_default().push(row);
    }

    let outputs = outputs(table, &stats.aggregations);

    // Reading: a name given twice is one column, where it first came, with the last value.
    let mut columns: Vec<String> = Vec::new();
    for name in stats
        .by
        .iter()
        .map(|field| field.as_str().to_owned())
        .chain(outputs.iter().map(|(name, _)| name.clone()))
    {
        if !columns.contains(&name) {
            columns.push(name);
        }
    }

    let mut rows = Vec::new();
    for (key, group) in &groups {
        let mut values = BTreeMap::new();
        for (field, value) in stats.by.iter().zip(key) {
            values.insert(field.as_str().to_owned(), value.clone());
        }
        for (name, output) in &outputs {
            let value = match output {
                Output::Rows => Some(group.len().to_string()),
                Output::Apply(function, field) => apply(*function, field, group),
            };
            if let Some(value) = value {
                values.insert(name.clone(), value);
            }
        }
        // A row with no column at all is not returned; without `by`, the one row is returned
        // whenever there is a column, even with no value in it.
        if !columns.is_empty() {
            rows.push(Row {
                values,
                time_nanos: None,
            });
        }
    }
    Table { columns, rows }
}

/// The columns `aggregations` make over the rows of `table`, each named, wildcards expanded.
fn outputs(table: &Table, aggregations: &[Aggregation]) -> Vec<(String, Output)> {
    let mut outputs: Vec<(String, Output)> = Vec::new();
    for aggregation in aggregations {
        match &aggregation.aggregate {
            Aggregate::Count => outputs.push((aggregation.output_name(), Output::Rows)),
            Aggregate::Apply { function, field } if field.wildcards() == 0 => outputs.push((
                aggregation.output_name(),
                Output::Apply(*function, field.as_str().to_owned()),
            )),
            Aggregate::Apply { function, field } => {
                // The fields matched are those the rows `stats` gets have (also rows dropped
                // for lacking a by field), in byte-wise order. Reading: without an alias a
                // column is named `<function>(<field>)`.
                let names: BTreeSet<&String> = table
                    .rows
                    .iter()
                    .flat_map(|row| row.values.keys())
                    .filter(|name| field.matches(name))
                    .collect();
                for name in names {
                    let captures = field.captures(name).unwrap_or_default();
                    let column = match &aggregation.alias {
                        Some(alias) => alias.expand(&captures),
                        None => format!("{}({name})", function.name()),
                    };
                    outputs.push((column, Output::Apply(*function, name.clone())));
                }
            }
        }
    }
    outputs
}

/// `eventstats`: every row given its group's aggregates, over all the rows of its group.
fn eventstats(table: Table, eventstats: &Eventstats) -> Table {
    let (aggregations, by) = (&eventstats.aggregations, &eventstats.by);
    per_row(table, aggregations, by, |keys, i| {
        let key = keys[i].as_ref()?;
        Some(
            (0..keys.len())
                .filter(|&r| keys[r].as_ref() == Some(key))
                .collect(),
        )
    })
}

/// `streamstats`: every row given the aggregates over the rows up to it (itself included when
/// `current`), the last `window` rows of all (`global`) or of its group, of its group.
fn streamstats(table: Table, streamstats: &Streamstats) -> Table {
    let current = streamstats.current.unwrap_or(true);
    let window = streamstats.window.unwrap_or(0) as usize;
    let global = streamstats.global.unwrap_or(true);
    let (aggregations, by) = (&streamstats.aggregations, &streamstats.by);
    per_row(table, aggregations, by, |keys, i| {
        let key = keys[i].as_ref()?;
        let end = if current { i + 1 } else { i };
        // The rows the window covers, before keeping those of the row's group.
        let start = if window > 0 && global {
            end.saturating_sub(window)
        } else {
            0
        };
        let mine: Vec<usize> = (start..end)
            .filter(|&r| keys[r].as_ref() == Some(key))
            .collect();
        if window > 0 && !global {
            return Some(mine[mine.len().saturating_sub(window)..].to_vec());
        }
        Some(mine)
    })
}

/// Each aggregation over the rows `rows_of` gives for each row (from the rows' group keys and
/// the row's number; `None`: the row gets no value), added as columns.
fn per_row(
    mut table: Table,
    aggregations: &[Aggregation],
    by: &[spoor_spl::ast::Field],
    rows_of: impl Fn(&[Option<Vec<String>>], usize) -> Option<Vec<usize>>,
) -> Table {
    let by: Vec<&str> = by.iter().map(|f| f.as_str()).collect();
    let outputs = outputs(&table, aggregations);
    let keys: Vec<Option<Vec<String>>> = table.rows.iter().map(|row| group_key(row, &by)).collect();
    let mut columns = Vec::new();
    for (name, output) in &outputs {
        let column = (0..keys.len())
            .map(|i| {
                let rows = rows_of(&keys, i)?;
                let group: Vec<&Row> = rows.iter().map(|&r| &table.rows[r]).collect();
                output_value(output, &group)
            })
            .collect();
        columns.push((name.clone(), column));
    }
    add_columns(&mut table, columns);
    table
}

/// A row's values of the `by` fields; `None` when it lacks one.
fn group_key(row: &Row, by: &[&str]) -> Option<Vec<String>> {
    by.iter().map(|f| row.values.get(*f).cloned()).collect()
}

/// An output's value over `rows`.
fn output_value(output: &Output, rows: &[&Row]) -> Option<String> {
    match output {
        Output::Rows => Some(rows.len().to_string()),
        Output::Apply(function, field) => apply(*function, field, rows),
    }
}

/// Puts the columns in, in turn: each replaces the values of its name in every row, its name
/// staying where it is among the columns or coming last; a column with no value removes its
/// name.
fn add_columns(table: &mut Table, columns: Vec<(String, Vec<Option<String>>)>) {
    for (name, values) in columns {
        let any = values.iter().any(Option::is_some);
        for (row, value) in table.rows.iter_mut().zip(values) {
            row.values.remove(&name);
            if let (Some(value), true) = (value, any) {
                row.values.insert(name.clone(), value);
            }
        }
        if !any {
            table.columns.retain(|c| *c != name);
        } else if !table.columns.contains(&name) {
            table.columns.push(name);
        }
    }
}

/// A function over the values of `field` in `rows`; `None` when it has no value.
///
/// Reading: `count(f)` and `dc(f)` are counts, `0` over rows without `f` (also over no rows);
/// `sum`, `avg`, `min` and `max` add in row order.
fn apply(function: Function, field: &str, rows: &[&Row]) -> Option<String> {
    let owned: Vec<String> = rows
        .iter()
        .filter_map(|row| field_value(row, field))
        .collect();
    let values: Vec<&str> = owned.iter().map(String::as_str).collect();
    let numbers: Vec<f64> = values.iter().filter_map(|v| number(v)).collect();
    match function {
        Function::Count => Some(values.len().to_string()),
        Function::DistinctCount => Some(values.iter().collect::<BTreeSet<_>>().len().to_string()),
        Function::Sum => {
            if numbers.is_empty() {
                return None;
            }
            let mut sum = 0.0;
            for x in &numbers {
                sum += x;
            }
            Some(print_number(sum))
        }
        Function::Avg => {
            if numbers.is_empty() {
                return None;
            }
            let mut sum = 0.0;
            for x in &numbers {
                sum += x;
            }
            #[allow(clippy::cast_precision_loss, reason = "a count of test rows")]
            let count = numbers.len() as f64;
            Some(print_number(sum / count))
        }
        Function::Min => extreme(&numbers, &values, Ordering::Less),
        Function::Max => extreme(&numbers, &values, Ordering::Greater),
        Function::Range => {
            let lo = numbers.iter().copied().reduce(f64::min)?;
            let hi = numbers.iter().copied().reduce(f64::max)?;
            Some(print_number(hi - lo))
        }
        Function::Median => nearest_rank(&numbers, 50.0),
        Function::Perc(p) | Function::ExactPerc(p) | Function::UpperPerc(p) => {
            nearest_rank(&numbers, p.as_f64())
        }
        Function::Stdev => match numbers.len() {
            0 => None,
            1 => Some("0".to_owned()),
            n => {
                #[allow(clippy::cast_precision_loss, reason = "a count of test rows")]
                let (n, less) = (n as f64, (n - 1) as f64);
                // Reading: both sums add the numbers in ascending order, whatever the rows'.
                let mut numbers = numbers;
                numbers.sort_by(f64::total_cmp);
                let mut sum = 0.0;
                for x in &numbers {
                    sum += x;
                }
                let mean = sum / n;
                let mut squares = 0.0;
                for x in &numbers {
                    squares += (x - mean) * (x - mean);
                }
                Some(print_number((squares / less).sqrt()))
            }
        },
        // Reading: distinct, byte-wise order (a `String`'s order), joined by line breaks.
        Function::Values => {
            let distinct: BTreeSet<&str> = values.iter().copied().collect();
            (!distinct.is_empty()).then(|| distinct.into_iter().collect::<Vec<_>>().join("\n"))
        }
        Function::First => values.first().map(|v| (*v).to_owned()),
        Function::Last => values.last().map(|v| (*v).to_owned()),
        Function::Earliest | Function::Latest => {
            let mut best: Option<(i128, String)> = None;
            for row in rows {
                let (Some(t), Some(value)) = (row.time_nanos, field_value(row, field)) else {
                    continue;
                };
                let better = match &best {
                    None => true,
                    Some((b, _)) if function == Function::Earliest => t < *b,
                    Some((b, _)) => t > *b,
                };
                if better {
                    best = Some((t, value));
                }
            }
            best.map(|(_, value)| value)
        }
    }
}

/// The value of `field` in `row` as aggregations read it: `_time` of an event is its time in
/// epoch seconds, without trailing zeros.
fn field_value(row: &Row, field: &str) -> Option<String> {
    match (field, row.time_nanos) {
        ("_time", Some(nanos)) => {
            // Reading: before the epoch, the sign and then the digits of the magnitude.
            let sign = if nanos < 0 { "-" } else { "" };
            let seconds = nanos.abs() / NANOS_PER_SECOND;
            let fraction = nanos.abs() % NANOS_PER_SECOND;
            if fraction == 0 {
                return Some(format!("{sign}{seconds}"));
            }
            let digits = format!("{fraction:09}");
            Some(format!("{sign}{seconds}.{}", digits.trim_end_matches('0')))
        }
        _ => row.values.get(field).cloned(),
    }
}

/// The nearest-rank percentile: of the numbers sorted ascending, the one at rank
/// `p / 100 × (n − 1)` rounded half up (ranks from 0).
fn nearest_rank(numbers: &[f64], p: f64) -> Option<String> {
    let mut sorted = numbers.to_vec();
    sorted.sort_by(f64::total_cmp);
    let last = sorted.len().checked_sub(1)?;
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank among test rows"
    )]
    let rank = (p / 100.0 * last as f64 + 0.5).floor() as usize;
    Some(print_number(sorted[rank.min(last)]))
}

/// The smallest (`Less`) or largest (`Greater`) number, else the smallest or largest string.
fn extreme(numbers: &[f64], values: &[&str], wanted: Ordering) -> Option<String> {
    if let Some(&first) = numbers.first() {
        let mut best = first;
        for &x in &numbers[1..] {
            if x.partial_cmp(&best) == Some(wanted) {
                best = x;
            }
        }
        return Some(print_number(best));
    }
    let mut best: Option<&str> = None;
    for &value in values {
        if best.is_none_or(|b| value.as_bytes().cmp(b.as_bytes()) == wanted) {
            best = Some(value);
        }
    }
    best.map(str::to_owned)
}

/// The value as a number, when it is one.
///
/// Reading: a number is text Rust's `f64` parser reads whole (no spaces around it) to a finite
/// value: `3`, `-2`, `2.5`, `3.0`, `-1.5e-7`, `+1`, `.5`; not `inf`, `NaN`, ` 3`, `0x10`.
fn number(value: &str) -> Option<f64> {
    value.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A number as Splunk prints it: integral ones as integers, others in their shortest form.
///
/// Reading: negative zero prints `0`; no exponent is ever used.
fn print_number(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    format!("{x}")
}

// ---------------------------------------------------------------------------------------------
// timechart

/// The start of the bucket holding the instant `t` (nanoseconds since the epoch).
fn bucket_start(t: i128, count: u32, unit: SpanUnit) -> i128 {
    let count = i128::from(count);
    let seconds = match unit {
        SpanUnit::Second => 1,
        SpanUnit::Minute => 60,
        SpanUnit::Hour => 3_600,
        SpanUnit::Day => SECONDS_PER_DAY,
        SpanUnit::Week => 7 * SECONDS_PER_DAY,
        SpanUnit::Month => {
            let date = instant(t).date();
            let months =
                i128::from(date.year() - 1970) * 12 + i128::from(u8::from(date.month())) - 1;
            return month_start(months.div_euclid(count) * count);
        }
    };
    let size = count * seconds * NANOS_PER_SECOND;
    // Weeks count from Sunday 1969-12-28, four days before the epoch.
    let origin = if unit == SpanUnit::Week {
        -4 * SECONDS_PER_DAY * NANOS_PER_SECOND
    } else {
        0
    };
    origin + (t - origin).div_euclid(size) * size
}

/// The start of the bucket after the one starting at `start`.
fn next_bucket(start: i128, count: u32, unit: SpanUnit) -> i128 {
    let count_i = i128::from(count);
    let seconds = match unit {
        SpanUnit::Second => 1,
        SpanUnit::Minute => 60,
        SpanUnit::Hour => 3_600,
        SpanUnit::Day => SECONDS_PER_DAY,
        SpanUnit::Week => 7 * SECONDS_PER_DAY,
        SpanUnit::Month => {
            let date = instant(start).date();
            let months =
                i128::from(date.year() - 1970) * 12 + i128::from(u8::from(date.month())) - 1;
            return month_start(months + count_i);
        }
    };
    start + count_i * seconds * NANOS_PER_SECOND
}

/// 00:00 UTC on the 1st of the month that is `months` months after January 1970.
fn month_start(months: i128) -> i128 {
    let year = i32::try_from(1970 + months.div_euclid(12)).expect("a year in range");
    let month = u8::try_from(months.rem_euclid(12) + 1).expect("a month");
    let date = Date::from_calendar_date(year, Month::try_from(month).expect("a month"), 1)
        .expect("a valid date");
    date.midnight().assume_utc().unix_timestamp_nanos()
}

fn instant(nanos: i128) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(nanos).expect("a time in range")
}

/// A time as Splunk prints `_time`: `2026-11-01T00:00:00.000+00:00`, milliseconds cut (not
/// rounded).
fn print_time(nanos: i128) -> String {
    let t = instant(nanos);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn timechart(table: &Table, chart: &Timechart, window: &Window) -> Table {
    let count = chart.span.count.get();
    let unit = chart.span.unit;
    // Reading: a row's time is that of its event while it still has its `_time`; other rows
    // take no part.
    let rows: Vec<(i128, &Row)> = table
        .rows
        .iter()
        .filter(|row| row.values.contains_key("_time"))
        .filter_map(|row| row.time_nanos.map(|t| (t, row)))
        .collect();

    // The buckets: from the one holding `earliest` to the one holding the last instant before
    // `latest`; an open bound is the first (last) row's bucket.
    let first = window
        .earliest
        .map(|t| t.unix_timestamp_nanos())
        .or_else(|| rows.iter().map(|&(t, _)| t).min());
    let last = window
        .latest
        .map(|t| t.unix_timestamp_nanos() - 1)
        .or_else(|| rows.iter().map(|&(t, _)| t).max());
    let mut buckets: Vec<i128> = Vec::new();
    if let (Some(first), Some(last)) = (first, last) {
        let mut start = bucket_start(first, count, unit);
        let end = bucket_start(last, count, unit);
        while start <= end {
            buckets.push(start);
            start = next_bucket(start, count, unit);
        }
    }
    let bucket_of = |t: i128| {
        let start = bucket_start(t, count, unit);
        buckets.iter().position(|&b| b == start)
    };

    // The series: name → its rows, in row order; the rows without the split field apart.
    let no_split = chart.by.is_none();
    let single_name = chart.aggregation.output_name();
    let mut series: BTreeMap<String, Vec<(i128, &Row)>> = BTreeMap::new();
    let mut null_rows: Vec<(i128, &Row)> = Vec::new();
    for &(t, row) in &rows {
        match &chart.by {
            None => series
                .entry(single_name.clone())
                .or_default()
                .push((t, row)),
            Some(field) => match row.values.get(field.as_str()) {
                Some(value) => series.entry(value.clone()).or_default().push((t, row)),
                None => null_rows.push((t, row)),
            },
        }
    }
    if no_split {
        // One column even when there are no rows.
        series.entry(single_name).or_default();
    }
    let use_null = chart.use_null.unwrap_or(true) && !null_rows.is_empty();
    let use_other = chart.use_other.unwrap_or(true);

    let value_in = |series_rows: &[(i128, &Row)], bucket: usize| -> Option<String> {
        let in_bucket: Vec<&Row> = series_rows
            .iter()
            .filter(|&&(t, _)| bucket_of(t) == Some(bucket))
            .map(|&(_, row)| row)
            .collect();
        match &chart.aggregation.aggregate {
            Aggregate::Count => Some(in_bucket.len().to_string()),
            Aggregate::Apply { function, field } => apply(*function, field.as_str(), &in_bucket),
        }
    };

    // Rank the series by their total (the sum of their per-bucket values), ties by name.
    let mut ranked: Vec<(f64, &String)> = series
        .iter()
        .map(|(name, series_rows)| {
            let mut total = 0.0;
            for bucket in 0..buckets.len() {
                // Reading: a value that is no number (a `min` or `max` of strings) adds nothing.
                if let Some(x) = value_in(series_rows, bucket).as_deref().and_then(number) {
                    total += x;
                }
            }
            (total, name)
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.0.partial_cmp(&a.0)
            .expect("finite totals")
            .then_with(|| a.1.as_bytes().cmp(b.1.as_bytes()))
    });
    let limit = match chart.limit {
        None => DEFAULT_SERIES_LIMIT,
        Some(0) => usize::MAX,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let limit = if no_split { usize::MAX } else { limit };
    let kept: BTreeSet<&String> = ranked.iter().take(limit).map(|&(_, name)| name).collect();
    let cut: BTreeSet<&String> = ranked.iter().skip(limit).map(|&(_, name)| name).collect();
    // The rows of the cut series, in row order.
    let other_rows: Vec<(i128, &Row)> = match &chart.by {
        Some(field) => rows
            .iter()
            .filter(|&&(_, row)| {
                row.values
                    .get(field.as_str())
                    .is_some_and(|value| cut.contains(value))
            })
            .copied()
            .collect(),
        None => Vec::new(),
    };
    let use_other = use_other && !cut.is_empty();

    let span_days = {
        let first_start = buckets.first().copied().unwrap_or(0);
        // Reading: "a span of a day or more" is the span's length, so `24h` has `_spandays`.
        let length = next_bucket(first_start, count, unit) - first_start;
        unit == SpanUnit::Month || length >= SECONDS_PER_DAY * NANOS_PER_SECOND
    };

    // `kept` is a sorted set: the series sorted by name, byte-wise.
    let mut columns: Vec<String> = vec!["_time".to_owned()];
    columns.extend(kept.iter().map(|name| (*name).clone()));
    if use_null {
        columns.push("NULL".to_owned());
    }
    if use_other {
        columns.push("OTHER".to_owned());
    }
    columns.push("_span".to_owned());
    if span_days {
        columns.push("_spandays".to_owned());
    }

    let mut out = Vec::new();
    for (i, &start) in buckets.iter().enumerate() {
        let mut values = BTreeMap::new();
        values.insert("_time".to_owned(), print_time(start));
        for name in &kept {
            if let Some(value) = value_in(&series[*name], i) {
                values.insert((*name).clone(), value);
            }
        }
        if use_null && let Some(value) = value_in(&null_rows, i) {
            values.insert("NULL".to_owned(), value);
        }
        if use_other && let Some(value) = value_in(&other_rows, i) {
            values.insert("OTHER".to_owned(), value);
        }
        let length = next_bucket(start, count, unit) - start;
        values.insert("_span".to_owned(), (length / NANOS_PER_SECOND).to_string());
        if span_days {
            let seconds = length / NANOS_PER_SECOND;
            let days = if seconds % SECONDS_PER_DAY == 0 {
                (seconds / SECONDS_PER_DAY).to_string()
            } else {
                #[allow(clippy::cast_precision_loss, reason = "a span of test data")]
                let days = seconds as f64 / 86_400.0;
                print_number(days)
            };
            values.insert("_spandays".to_owned(), days);
        }
        out.push(Row {
            values,
            time_nanos: None,
        });
    }
    Table { columns, rows: out }
}

// ---------------------------------------------------------------------------------------------
// rename, fields

fn rename(mut table: Table, rename: &Rename) -> Table {
    for renaming in &rename.renamings {
        if renaming.from.wildcards() == 0 {
            let to = renaming.to.expand(&[]);
            rename_column(&mut table, renaming.from.as_str(), &to);
            continue;
        }
        // Every column matching when the renaming starts, in column order.
        let matching: Vec<String> = table
            .columns
            .iter()
            .filter(|column| names(&renaming.from, column))
            .cloned()
            .collect();
        for from in matching {
            let captures = renaming.from.captures(&from).unwrap_or_default();
            let to = renaming.to.expand(&captures);
            rename_column(&mut table, &from, &to);
        }
    }
    table
}

/// Column `from` becomes `to`, in its place, and any column `to` goes.
///
/// Reading: renaming is by column, so a row without `from` has no `to` afterwards; renaming a
/// column that does not exist changes nothing.
fn rename_column(table: &mut Table, from: &str, to: &str) {
    if from == to || !table.columns.iter().any(|c| c == from) {
        return;
    }
    table.columns.retain(|c| c != to);
    for column in &mut table.columns {
        if column == from {
            to.clone_into(column);
        }
    }
    for row in &mut table.rows {
        row.values.remove(to);
        if let Some(value) = row.values.remove(from) {
            row.values.insert(to.to_owned(), value);
        }
    }
}

fn fields(mut table: Table, fields: &Fields) -> Table {
    let chosen: Vec<String> = match fields.mode {
        FieldsMode::Remove => table
            .columns
            .iter()
            .filter(|column| !fields.fields.iter().any(|p| names(p, column)))
            .cloned()
            .collect(),
        FieldsMode::Keep => {
            let mut chosen: Vec<String> = Vec::new();
            for pattern in &fields.fields {
                for column in &table.columns {
                    if names(pattern, column) && !chosen.contains(column) {
                        chosen.push(column.clone());
                    }
                }
            }
            // The internal columns no pattern names come after, in column order.
            for column in &table.columns {
                if column.starts_with('_') && !chosen.contains(column) {
                    chosen.push(column.clone());
                }
            }
            chosen
        }
    };
    for row in &mut table.rows {
        row.values.retain(|name, _| chosen.contains(name));
    }
    table.columns = chosen;
    table
}

// ---------------------------------------------------------------------------------------------
// expressions: eval, where, bin, dedup

/// A value of an expression.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Null,
    Num(f64),
    /// A string the expression made: never a number.
    Str(String),
    /// A field's value: a number when it reads as one.
    FieldText(String),
    Bool(bool),
}

impl Val {
    fn num(&self) -> Option<f64> {
        match self {
            Self::Num(x) => Some(*x),
            Self::FieldText(s) => number(s),
            _ => None,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Self::Null => None,
            Self::Num(x) => Some(print_number(*x)),
            Self::Str(s) | Self::FieldText(s) => Some(s.clone()),
            Self::Bool(true) => Some("True".to_owned()),
            Self::Bool(false) => Some("False".to_owned()),
        }
    }
}

fn finite(x: f64) -> Val {
    if x.is_finite() {
        Val::Num(x)
    } else {
        Val::Null
    }
}

/// The row's time in epoch seconds, to the microsecond, while it is an event with `_time`.
fn event_time(row: &Row) -> Option<i128> {
    row.time_nanos.filter(|_| row.values.contains_key("_time"))
}

/// A Boolean operand: `None` for null. Reading: the differential test makes no expression that
/// gives another value where a Boolean is wanted (the engine's error).
fn boolean(value: &Val) -> Option<bool> {
    match value {
        Val::Bool(b) => Some(*b),
        Val::Null => None,
        other => panic!("a Boolean was wanted, not {other:?}"),
    }
}

fn compare_vals(a: &Val, b: &Val) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.num(), b.num()) {
        return x.partial_cmp(&y);
    }
    Some(a.text()?.as_bytes().cmp(b.text()?.as_bytes()))
}

fn value_of(row: &Row, expr: &Expr) -> Val {
    match expr {
        Expr::Number(n) => finite(n.as_str().parse().expect("a number literal")),
        Expr::String(s) => Val::Str(s.clone()),
        Expr::Field(name) if name.as_str() == "_time" && event_time(row).is_some() => {
            let micros = event_time(row).expect("checked") / 1_000;
            Val::Num(micros as f64 / 1e6)
        }
        Expr::Field(name) => row
            .values
            .get(name.as_str())
            .map_or(Val::Null, |v| Val::FieldText(v.clone())),
        Expr::Unary { op, operand } => {
            let v = value_of(row, operand);
            match op {
                UnaryOp::Negate => v.num().map_or(Val::Null, |x| finite(-x)),
                UnaryOp::Not => boolean(&v).map_or(Val::Null, |b| Val::Bool(!b)),
            }
        }
        Expr::Binary { op, left, right } => {
            let (a, b) = (value_of(row, left), value_of(row, right));
            let both = a.num().zip(b.num());
            let is_string = |v: &Val| matches!(v, Val::Str(_) | Val::FieldText(_));
            match op {
                BinaryOp::Add => match both {
                    Some((x, y)) => finite(x + y),
                    None if is_string(&a) && is_string(&b) => {
                        Val::Str(a.text().expect("a string") + &b.text().expect("a string"))
                    }
                    None => Val::Null,
                },
                BinaryOp::Subtract => both.map_or(Val::Null, |(x, y)| finite(x - y)),
                BinaryOp::Multiply => both.map_or(Val::Null, |(x, y)| finite(x * y)),
                BinaryOp::Divide => match both {
                    Some((_, 0.0)) => Val::Null,
                    Some((x, y)) => finite(x / y),
                    None => Val::Null,
                },
                BinaryOp::Modulo => match both {
                    Some((_, 0.0)) => Val::Null,
                    Some((x, y)) => finite(x % y),
                    None => Val::Null,
                },
                BinaryOp::Concat => match (a.text(), b.text()) {
                    (Some(x), Some(y)) => Val::Str(x + &y),
                    _ => Val::Null,
                },
                comparison => match compare_vals(&a, &b) {
                    None => Val::Null,
                    Some(o) => Val::Bool(match comparison {
                        BinaryOp::Eq => o.is_eq(),
                        BinaryOp::Ne => o.is_ne(),
                        BinaryOp::Lt => o.is_lt(),
                        BinaryOp::Le => o.is_le(),
                        BinaryOp::Gt => o.is_gt(),
                        _ => o.is_ge(),
                    }),
                },
            }
        }
        Expr::Logic { op, operands } => {
            let truths: Vec<Option<bool>> = operands
                .iter()
                .map(|o| boolean(&value_of(row, o)))
                .collect();
            let any_null = truths.contains(&None);
            match op {
                LogicOp::And if truths.contains(&Some(false)) => Val::Bool(false),
                LogicOp::Or if truths.contains(&Some(true)) => Val::Bool(true),
                _ if any_null => Val::Null,
                LogicOp::And => Val::Bool(true),
                LogicOp::Or => Val::Bool(false),
                LogicOp::Xor => {
                    Val::Bool(truths.iter().filter(|t| **t == Some(true)).count() % 2 == 1)
                }
            }
        }
        Expr::Call { function, args } => call(row, *function, args),
        Expr::RelativeTime { time, modifier } => {
            let Some(t) = value_of(row, time).num().filter(|t| t.abs() < 1e12) else {
                return Val::Null;
            };
            let nanos = (t * 1e6).round() as i128 * 1_000;
            let Ok(base) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
                return Val::Null;
            };
            match TimeModifier::Relative(*modifier).resolve(base, UtcOffset::UTC) {
                Ok(at) => finite((at.unix_timestamp_nanos() / 1_000) as f64 / 1e6),
                Err(_) => Val::Null,
            }
        }
    }
}

fn call(row: &Row, function: EvalFunction, args: &[Expr]) -> Val {
    let arg = |i: usize| args.get(i).map_or(Val::Null, |a| value_of(row, a));
    let one_number = |f: fn(f64) -> f64| arg(0).num().map_or(Val::Null, |x| finite(f(x)));
    match function {
        EvalFunction::Null => Val::Null,
        EvalFunction::Abs => one_number(f64::abs),
        EvalFunction::Floor => one_number(f64::floor),
        EvalFunction::Ceiling => one_number(f64::ceil),
        EvalFunction::Round => {
            let Some(x) = arg(0).num() else {
                return Val::Null;
            };
            let digits = if args.len() < 2 {
                Some(0.0)
            } else {
                arg(1).num()
            };
            match digits {
                Some(d) if d >= 0.0 && d.fract() == 0.0 && d > 15.0 => finite(x),
                Some(d) if d >= 0.0 && d.fract() == 0.0 => {
                    let scale = 10f64.powi(d as i32);
                    finite((x * scale).round() / scale)
                }
                _ => Val::Null,
            }
        }
        EvalFunction::IsNull => Val::Bool(arg(0) == Val::Null),
        EvalFunction::IsNotNull => Val::Bool(arg(0) != Val::Null),
        EvalFunction::Coalesce => args
            .iter()
            .map(|a| value_of(row, a))
            .find(|v| *v != Val::Null)
            .unwrap_or(Val::Null),
        EvalFunction::If => {
            if boolean(&arg(0)) == Some(true) {
                arg(1)
            } else {
                arg(2)
            }
        }
        EvalFunction::Case => {
            for pair in args.chunks(2) {
                if boolean(&value_of(row, &pair[0])) == Some(true) {
                    return value_of(row, &pair[1]);
                }
            }
            Val::Null
        }
        EvalFunction::In => {
            let x = arg(0);
            if x == Val::Null {
                return Val::Null;
            }
            Val::Bool(
                args[1..]
                    .iter()
                    .any(|a| compare_vals(&x, &value_of(row, a)) == Some(Ordering::Equal)),
            )
        }
        EvalFunction::Like => match (arg(0).text(), arg(1).text()) {
            (Some(s), Some(p)) => Val::Bool(like_matches(
                &s.chars().collect::<Vec<_>>(),
                &p.chars().collect::<Vec<_>>(),
            )),
            _ => Val::Null,
        },
        EvalFunction::Len => arg(0)
            .text()
            .map_or(Val::Null, |s| Val::Num(s.chars().count() as f64)),
        EvalFunction::Lower => arg(0)
            .text()
            .map_or(Val::Null, |s| Val::Str(s.to_lowercase())),
        EvalFunction::Upper => arg(0)
            .text()
            .map_or(Val::Null, |s| Val::Str(s.to_uppercase())),
        EvalFunction::ToString => arg(0).text().map_or(Val::Null, Val::Str),
        EvalFunction::ToNumber => {
            let v = arg(0);
            if let Val::Num(x) = v {
                return Val::Num(x);
            }
            let text = match &v {
                Val::Str(s) | Val::FieldText(s) => s.clone(),
                _ => return Val::Null,
            };
            let base = if args.len() < 2 {
                Some(10.0)
            } else {
                arg(1).num()
            };
            match base {
                Some(10.0) => number(&text).map_or(Val::Null, Val::Num),
                Some(b) if (2.0..=36.0).contains(&b) && b.fract() == 0.0 => {
                    i64::from_str_radix(text.trim(), b as u32)
                        .map_or(Val::Null, |n| finite(n as f64))
                }
                _ => Val::Null,
            }
        }
        EvalFunction::Min | EvalFunction::Max => {
            let values: Vec<Val> = args
                .iter()
                .map(|a| value_of(row, a))
                .filter(|v| *v != Val::Null)
                .collect();
            // Numbers below strings; numbers as numbers, strings byte-wise.
            let order = |a: &Val, b: &Val| match (a.num(), b.num()) {
                (Some(x), Some(y)) => x.partial_cmp(&y).expect("finite"),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => a.text().cmp(&b.text()),
            };
            let mut best: Option<Val> = None;
            for v in values {
                let replace = match &best {
                    None => true,
                    Some(b) if function == EvalFunction::Min => order(&v, b) == Ordering::Less,
                    Some(b) => order(&v, b) == Ordering::Greater,
                };
                if replace {
                    best = Some(v);
                }
            }
            best.unwrap_or(Val::Null)
        }
    }
}

/// SQL's `LIKE`, written as a plain recursion over the characters.
fn like_matches(s: &[char], p: &[char]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some(('%', rest)) => (0..=s.len()).any(|i| like_matches(&s[i..], rest)),
        Some((&c, rest)) => match s.split_first() {
            Some((&first, tail)) => (c == '_' || c == first) && like_matches(tail, rest),
            None => false,
        },
    }
}

fn filter_expression(mut table: Table, condition: &Expr) -> Table {
    table
        .rows
        .retain(|row| boolean(&value_of(row, condition)) == Some(true));
    table
}

/// Sets `field` of every row to `values` (`None`: removed), adding the column last when it is
/// new and some row has a value.
fn set_field(table: &mut Table, field: &str, values: Vec<Option<String>>) {
    if !table.columns.iter().any(|c| c == field) {
        if values.iter().all(Option::is_none) {
            return;
        }
        table.columns.push(field.to_owned());
    }
    for (row, value) in table.rows.iter_mut().zip(values) {
        match value {
            Some(v) => {
                row.values.insert(field.to_owned(), v);
            }
            None => {
                row.values.remove(field);
            }
        }
    }
}

fn eval(mut table: Table, eval: &Eval) -> Table {
    for assignment in &eval.assignments {
        let name = assignment.field.as_str();
        let values: Vec<Val> = table
            .rows
            .iter()
            .map(|row| value_of(row, &assignment.value))
            .collect();
        assert!(
            !values.iter().any(|v| matches!(v, Val::Bool(_))),
            "the differential test assigns no Boolean"
        );
        if name == "_time" && table.rows.iter().all(|r| event_time(r).is_some()) {
            for (row, value) in table.rows.iter_mut().zip(&values) {
                if let Some(seconds) = value.text() {
                    let seconds = number(&seconds).expect("a time in seconds");
                    let nanos = (seconds * 1e6).round() as i128 * 1_000;
                    row.time_nanos = Some(nanos);
                    row.values.insert("_time".to_owned(), print_time(nanos));
                }
            }
            continue;
        }
        set_field(&mut table, name, values.iter().map(Val::text).collect());
    }
    table
}

fn bin(mut table: Table, bin: &Bin) -> Table {
    let field = bin.field.as_str();
    let target = bin.alias.as_ref().map_or(field, |a| a.as_str());
    // The events' own times stay times.
    if let BinSpan::Time(span) = &bin.span
        && field == "_time"
        && target == "_time"
        && table.rows.iter().all(|r| event_time(r).is_some())
    {
        for row in &mut table.rows {
            let start = bucket_start(
                row.time_nanos.expect("an event"),
                span.count.get(),
                span.unit,
            );
            row.time_nanos = Some(start);
            row.values.insert("_time".to_owned(), print_time(start));
        }
        return table;
    }
    let values: Vec<Option<String>> = table
        .rows
        .iter()
        .map(|row| {
            let value = match event_time(row) {
                Some(nanos) if field == "_time" => Some((nanos / 1_000) as f64 / 1e6),
                _ => row.values.get(field).and_then(|v| number(v)),
            }?;
            match &bin.span {
                BinSpan::Time(span) => {
                    let nanos = (value * 1e6).round() as i128 * 1_000;
                    let start = bucket_start(nanos, span.count.get(), span.unit);
                    Some(print_number((start / 1_000) as f64 / 1e6))
                }
                BinSpan::Number(width) => {
                    let width: f64 = width.as_str().parse().expect("a number");
                    Some((value / width).floor() * width)
                        .filter(|b| b.is_finite())
                        .map(print_number)
                }
            }
        })
        .collect();
    set_field(&mut table, target, values);
    table
}

fn dedup(mut table: Table, dedup: &Dedup) -> Table {
    let keep = dedup.count.map_or(1, |n| n.get() as usize);
    let mut seen: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    table.rows.retain(|row| {
        let key: Option<Vec<String>> = dedup
            .fields
            .iter()
            .map(|f| row.values.get(f.as_str()).cloned())
            .collect();
        let Some(key) = key else { return false };
        let taken = seen.entry(key).or_insert(0);
        *taken += 1;
        *taken <= keep
    });
    table
}

// ---------------------------------------------------------------------------------------------
// sort

fn compare_values(a: &str, b: &str) -> Ordering {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).expect("finite numbers"),
        _ => a.as_bytes().cmp(b.as_bytes()),
    }
}

fn compare_rows(a: &Row, b: &Row, sort: &Sort) -> Ordering {
    for key in &sort.keys {
        // While rows are events with their `_time`, it sorts by the events' times.
        if key.field.as_str() == "_time"
            && let (Some(x), Some(y)) = (event_time(a), event_time(b))
        {
            let ordering = if key.descending { y.cmp(&x) } else { x.cmp(&y) };
            if ordering != Ordering::Equal {
                return ordering;
            }
            continue;
        }
        let ordering = match (
            a.values.get(key.field.as_str()),
            b.values.get(key.field.as_str()),
        ) {
            (None, None) => Ordering::Equal,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) if key.descending => compare_values(y, x),
            (Some(x), Some(y)) => compare_values(x, y),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

fn sort(mut table: Table, sort: &Sort) -> Table {
    // A stable insertion sort: each row goes after every row not greater than it. (The
    // comparison mixes numbers and strings, so it need not be a total order; this never panics
    // on that.)
    let mut sorted: Vec<Row> = Vec::with_capacity(table.rows.len());
    for row in table.rows {
        let mut at = sorted.len();
        while at > 0 && compare_rows(&sorted[at - 1], &row, sort) == Ordering::Greater {
            at -= 1;
        }
        sorted.insert(at, row);
    }
    let limit = match sort.limit {
        None => DEFAULT_SORT_LIMIT,
        Some(0) => usize::MAX,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    sorted.truncate(limit);
    table.rows = sorted;
    table
}

mod tests {
    use super::*;

    #[test]
    fn wildcards_match_case_insensitively() {
        assert!(wildcard_matches("shop", "SHOP"));
        assert!(wildcard_matches("sh*p", "Sh🦀p"));
        assert!(wildcard_matches("*", ""));
        assert!(wildcard_matches("ÄRGER", "ärger"));
        assert!(!wildcard_matches("shop", "shops"));
        assert!(wildcard_matches("*a*b*", "xaybz"));
        assert!(!wildcard_matches("", "a"));
    }

    #[test]
    fn buckets_align_as_the_doc_says() {
        let t = time::macros::datetime!(2024-02-29 13:45:10 UTC).unix_timestamp_nanos();
        assert_eq!(
            print_time(bucket_start(t, 1, SpanUnit::Day)),
            "2024-02-29T00:00:00.000+00:00"
        );
        // 2024-02-25 is a Sunday.
        assert_eq!(
            print_time(bucket_start(t, 1, SpanUnit::Week)),
            "2024-02-25T00:00:00.000+00:00"
        );
        assert_eq!(
            print_time(bucket_start(t, 1, SpanUnit::Month)),
            "2024-02-01T00:00:00.000+00:00"
        );
        // 2024-02 is month 649 since 1970-01; 649 - 649 % 3 = 648, January 2024.
        assert_eq!(
            print_time(bucket_start(t, 3, SpanUnit::Month)),
            "2024-01-01T00:00:00.000+00:00"
        );
        assert_eq!(
            print_time(bucket_start(t, 15, SpanUnit::Minute)),
            "2024-02-29T13:45:00.000+00:00"
        );
        assert_eq!(
            print_time(next_bucket(
                bucket_start(t, 1, SpanUnit::Month),
                1,
                SpanUnit::Month
            )),
            "2024-03-01T00:00:00.000+00:00"
        );
        assert_eq!(print_time(-1_000), "1969-12-31T23:59:59.999+00:00");
    }

    #[test]
    fn numbers_print_as_splunk_prints_them() {
        assert_eq!(print_number(3.0), "3");
        assert_eq!(print_number(-2.0), "-2");
        assert_eq!(print_number(2.5), "2.5");
        assert_eq!(print_number(-0.0), "0");
        assert_eq!(number("-1.5e-7"), Some(-1.5e-7));
        assert_eq!(number("inf"), None);
        assert_eq!(number(" 3"), None);
    }
}
