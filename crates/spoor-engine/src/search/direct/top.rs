//! The values of a field with the most rows: `stats count by f | sort [limit=n] -count, +f`
//! (the builders' top users), answered from one index's columns.
//!
//! The `stats` is the direct path's ([`aggregate`](super::aggregate)); the `sort` is `sort`'s
//! order without sorting every group: the counts are read as numbers once (not at each
//! comparison), the first `n` groups are selected, then only those are sorted. The order is
//! `sort`'s: counts descending as numbers, then the values as `sort` compares them (as numbers
//! when both are, else byte-wise), then, as `sort` is stable, the order `stats` gave.

use std::cmp::Ordering;

use spoor_spl::ast::{Aggregate, Command, SortKey};

use crate::columns::Columns;
use crate::search::command;
use crate::search::filter::Filter;
use crate::search::frame::Frame;
use crate::search::text::{compare_values, number};
use crate::search::{SearchError, Window};

/// Sort's default row limit, as Splunk's.
const SORT_DEFAULT_LIMIT: usize = 10_000;

/// The answer when `commands` are `stats count by f | sort [limit=n] -count, +f`; `None`
/// otherwise.
pub(super) fn answer<'a>(
    columns: &'a Columns,
    filter: &Filter<'a, '_>,
    window: &Window,
    commands: &[Command],
) -> Option<Result<Frame<'a>, SearchError>> {
    let [Command::Stats(stats), Command::Sort(sort)] = commands else {
        return None;
    };
    let ([by], [count]) = (stats.by.as_slice(), stats.aggregations.as_slice()) else {
        return None;
    };
    if count.aggregate != Aggregate::Count {
        return None;
    }
    let name = count.output_name();
    let [
        SortKey {
            field: first,
            descending: true,
        },
        SortKey {
            field: second,
            descending: false,
        },
    ] = sort.keys.as_slice()
    else {
        return None;
    };
    if first.as_str() != name || second != by || name == by.as_str() {
        return None;
    }
    let frame = match super::aggregate(columns, filter, window, &commands[0])? {
        Ok(frame) => frame,
        Err(err) => return Some(Err(err)),
    };
    let (Some(values), Some(counts)) = (frame.col(by.as_str()), frame.col(&name)) else {
        return Some(command::run(frame, &commands[1..], false));
    };
    let counts: Vec<f64> = (0..frame.len)
        .map(|row| counts.get(row).and_then(number).unwrap_or(f64::NAN))
        .collect();
    if counts.iter().any(|c| c.is_nan()) {
        return Some(command::run(frame, &commands[1..], false));
    }
    let order = |&a: &usize, &b: &usize| -> Ordering {
        counts[b]
            .partial_cmp(&counts[a])
            .unwrap_or(Ordering::Equal)
            .then_with(|| match (values.get(a), values.get(b)) {
                (Some(x), Some(y)) => compare_values(x, y),
                (x, y) => x.is_none().cmp(&y.is_none()),
            })
            .then(a.cmp(&b))
    };
    let limit = match sort.limit {
        None => SORT_DEFAULT_LIMIT,
        Some(0) => usize::MAX,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let mut rows: Vec<usize> = (0..frame.len).collect();
    if limit < rows.len() {
        rows.select_nth_unstable_by(limit, order);
        rows.truncate(limit);
    }
    rows.sort_unstable_by(order);
    Some(Ok(frame.select(&rows)))
}
