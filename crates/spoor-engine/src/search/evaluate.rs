//! The evaluator: a query from its search to its results. The search's terms (and the `where`s
//! that repeat them) pick each index's rows ([`filter`](super::filter)); a `stats` or `timechart`
//! straight after the search of one index is answered from the index's columns
//! ([`direct`]); otherwise the rows are gathered into a [`Frame`]
//! ([`gather`](super::gather)) and the commands run over it in turn ([`command`]).

use std::collections::BTreeMap;

use spoor_spl::ast::{Command, Query, SearchTerm};

use crate::columns::Columns;
use crate::store::Store;

use super::command;
use super::direct;
use super::filter::{Filter, choose_indexes, exact_wheres, window_bounds};
use super::frame::Frame;
use super::gather::{Wanted, events_view, gather};
use super::{Message, Results, SearchError, Window};

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

    let (exact, commands) = exact_wheres(&query.commands);
    let transform = commands.iter().position(command::transforms);
    let listing = transform.is_none();
    let wanted = Wanted::new(&commands[..transform.map_or(0, |t| t + 1)], listing);
    // Events come newest first: in a listing, wherever `head`, `sort` or `dedup` sees them, and
    // to what reads their order.
    let ordered = commands[..transform.map_or(commands.len(), |t| t + 1)]
        .iter()
        .any(|c| {
            matches!(c, Command::Head(_) | Command::Sort(_) | Command::Dedup(_))
                || command::reads_order(c)
        });
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
    // The builders' funnel and retention over one index are answered from its columns.
    if let [(_, columns, filter)] = filters.as_slice()
        && let Some(frame) = direct::shaped(columns, filter, window, commands)
    {
        return results(frame?, messages, keep);
    }
    // A `stats` or `timechart` straight after the search of one index is aggregated from the
    // index's columns where it can be.
    if let ([(_, columns, filter)], [first, rest @ ..], Some(0)) =
        (filters.as_slice(), commands, transform)
        && let Some(frame) = direct::aggregate(columns, filter, window, first)
    {
        let frame = command::run(frame?, rest, false)?;
        return results(frame, messages, keep);
    }

    let mut frame = Frame {
        times: times.then(Vec::new),
        ..Frame::default()
    };
    for (name, columns, filter) in &filters {
        // A listing cut by `head` over one index reads only the rows it can keep.
        let newest = (filters.len() == 1)
            .then(|| direct::newest(columns, filter, window, commands))
            .flatten();
        let rows = match newest {
            Some(rows) => rows,
            None => filter.rows(columns, name, store, window)?,
        };
        let part = gather(columns, name, store, &rows, &wanted, times)?;
        frame.append(part);
    }
    frame.window = window_bounds(window);
    if listing || ordered {
        frame = events_view(frame);
    }
    let frame = command::run(frame, commands, true)?;
    results(frame, messages, keep)
}

/// The frame's rows and columns, each row given to `keep` as it is made.
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
