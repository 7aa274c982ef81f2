//! Gathering: which fields a query reads, the matching rows of an index read into a [`Frame`]
//! of those columns, and the events as a listing shows them.

use std::borrow::Cow;

use spoor_spl::ast::{Aggregate, Aggregation, Command, FieldPattern};

use crate::columns::{BUILT_IN, Columns};
use crate::store::Store;

use super::SearchError;
use super::expr::fields_read;
use super::frame::{Col, Frame};
use super::halves::in_halves;
use super::text::format_time;

/// Which columns the commands read before the rows stop being events.
pub(crate) struct Wanted {
    all: bool,
    patterns: Vec<FieldPattern>,
}

impl Wanted {
    pub(crate) fn new(commands: &[Command], listing: bool) -> Self {
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
                Command::Eventstats(s) => {
                    patterns.extend(s.by.iter().map(|f| f.clone().into()));
                    patterns.extend(s.aggregations.iter().filter_map(aggregated_field));
                }
                Command::Streamstats(s) => {
                    patterns.extend(s.by.iter().map(|f| f.clone().into()));
                    patterns.extend(s.aggregations.iter().filter_map(aggregated_field));
                }
                Command::Rename(r) => patterns.extend(r.renamings.iter().map(|r| r.from.clone())),
                Command::Fields(f) => patterns.extend(f.fields.iter().cloned()),
                Command::Sort(s) => patterns.extend(s.keys.iter().map(|k| k.field.clone().into())),
                Command::WhereExpr(_) | Command::Eval(_) | Command::Bin(_) | Command::Dedup(_) => {
                    expression_fields(command, &mut patterns);
                }
                // `head` reads no field.
                Command::Head(_) => {}
            }
        }
        Self {
            all: listing,
            patterns,
        }
    }

    pub(crate) fn wants(&self, name: &str) -> bool {
        self.all || self.patterns.iter().any(|p| p.matches(name))
    }
}

/// The fields `where`, `eval`, `bin` and `dedup` read.
fn expression_fields(command: &Command, patterns: &mut Vec<FieldPattern>) {
    match command {
        Command::WhereExpr(w) => fields_read(&w.condition, patterns),
        Command::Eval(e) => {
            for assignment in &e.assignments {
                fields_read(&assignment.value, patterns);
                // `eval _time=…` sets the events' times, so they are gathered.
                patterns.push(assignment.field.clone().into());
            }
        }
        Command::Bin(b) => patterns.push(b.field.clone().into()),
        Command::Dedup(d) => patterns.extend(d.fields.iter().map(|f| f.clone().into())),
        _ => {}
    }
}

fn aggregated_field(aggregation: &Aggregation) -> Option<FieldPattern> {
    match &aggregation.aggregate {
        Aggregate::Count => None,
        Aggregate::Apply { field, .. } => Some(field.clone()),
    }
}

/// The frame of `rows`, with the wanted columns.
pub(crate) fn gather<'a>(
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
            raws.push(Some(store.raw(index, columns, row)?));
        }
        frame.cols.push(Col::from_values("_raw", raws));
    }
    if wanted.wants("index") {
        frame
            .cols
            .push(Col::from_values("index", rows.iter().map(|_| Some(index))));
    }
    for (name, column) in columns.named() {
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
pub(crate) fn events_view(mut frame: Frame<'_>) -> Frame<'_> {
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
