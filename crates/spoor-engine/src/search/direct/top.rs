//! The values of a field with the most rows: `stats count by f | sort [limit=n] -count, +f`
//! (the builders' top users), answered from one index's columns.
//!
//! The rows of each value are counted as the direct `stats` counts them (block by block, each
//! row in its value's slot); the `sort` is `sort`'s order without a row for every value: the
//! first `n` values are selected from the counts, then only those are sorted. The order is
//! `sort`'s: counts descending (as numbers, which `stats` prints), then the values as `sort`
//! compares them (as numbers when both are, else byte-wise), then, as `sort` is stable, the
//! order `stats` gives its groups (byte-wise).

use std::borrow::Cow;
use std::cmp::Ordering;

use spoor_spl::ast::{Aggregate, Command, SortKey};

use crate::columns::Columns;
use crate::search::aggregate::bind_matching;
use crate::search::filter::{Filter, window_bounds};
use crate::search::frame::{Col, Frame};
use crate::search::text::compare_values;
use crate::search::{SearchError, Window};

use super::{Plan, Rows, view};

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
    // The rows of each value, as the direct `stats` counts them (slot = code + 1).
    let rows = Rows::of(columns, filter, window)?;
    let view = view(columns, Some(by.as_str()), &stats.aggregations)?;
    let bound = bind_matching(&view, count, |_| true);
    let plan = Plan::new(rows, Some(by.as_str()), true, &bound, false)?;
    let column = plan.by?;
    let tally = plan.tally_all()?;
    let counts = &tally.rows;
    let order = |&a: &usize, &b: &usize| -> Ordering {
        let value = |slot: usize| column.dict.get(slot as u32 - 1);
        counts[b]
            .cmp(&counts[a])
            .then_with(|| compare_values(value(a), value(b)))
            .then_with(|| value(a).as_bytes().cmp(value(b).as_bytes()))
    };
    let limit = match sort.limit {
        None => SORT_DEFAULT_LIMIT,
        Some(0) => usize::MAX,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let mut slots: Vec<usize> = (2..plan.slots()).filter(|&s| counts[s] > 0).collect();
    if limit < slots.len() {
        slots.select_nth_unstable_by(limit, order);
        slots.truncate(limit);
    }
    slots.sort_unstable_by(order);
    Some(Ok(Frame {
        len: slots.len(),
        times: None,
        window: window_bounds(window),
        cols: vec![
            Col {
                name: by.as_str().to_owned(),
                dict: Cow::Borrowed(&column.dict),
                codes: slots.iter().map(|&s| s as u32 - 1).collect(),
            },
            Col::from_values(name, slots.iter().map(|&s| Some(counts[s].to_string()))),
        ],
    }))
}
