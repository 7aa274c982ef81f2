//! `streamstats`: each row given the aggregates of the rows up to it, in the rows' order.

use std::collections::VecDeque;

use spoor_spl::ast::Streamstats;

use crate::search::SearchError;
use crate::search::aggregate::{Acc, Bound};
use crate::search::frame::Frame;

use super::eventstats::{add_columns, per_row};

pub(super) fn apply<'a>(
    frame: Frame<'a>,
    streamstats: &Streamstats,
) -> Result<Frame<'a>, SearchError> {
    let current = streamstats.current.unwrap_or(true);
    let window = streamstats.window.unwrap_or(0) as usize;
    let global = streamstats.global.unwrap_or(true);
    let cols = per_row(
        &frame,
        &streamstats.aggregations,
        &streamstats.by,
        |bound, numbers, group_of_row, groups| {
            if window == 0 {
                running(bound, numbers, group_of_row, groups, current)
            } else {
                windowed(
                    bound,
                    numbers,
                    group_of_row,
                    groups,
                    current,
                    window,
                    global,
                )
            }
        },
    );
    Ok(add_columns(frame, cols))
}

/// Without a window: one running state a group, each row's value read before (`current`
/// false) or after its own row is added.
fn running(
    bound: &Bound<'_, '_>,
    numbers: &[Option<f64>],
    group_of_row: &[u32],
    groups: usize,
    current: bool,
) -> Vec<Option<String>> {
    let mut accs = vec![Acc::default(); groups];
    group_of_row
        .iter()
        .enumerate()
        .map(|(row, &g)| {
            let acc = accs.get_mut(g as usize)?;
            if current {
                acc.add(bound, row, numbers);
                acc.value(bound)
            } else {
                let value = acc.value(bound);
                acc.add(bound, row, numbers);
                value
            }
        })
        .collect()
}

/// With a window of `window` rows: the last rows of all groups (`global`) or of the row's group,
/// the row itself among them when `current`, else the ones before it; each row's value is the
/// aggregate over the rows of its group in its window.
fn windowed(
    bound: &Bound<'_, '_>,
    numbers: &[Option<f64>],
    group_of_row: &[u32],
    groups: usize,
    current: bool,
    window: usize,
    global: bool,
) -> Vec<Option<String>> {
    // The rows in each window, oldest first: one window in all, or one a group.
    let mut windows: Vec<VecDeque<usize>> = vec![VecDeque::new(); if global { 1 } else { groups }];
    let mut values = Vec::with_capacity(group_of_row.len());
    for (row, &g) in group_of_row.iter().enumerate() {
        let slot = if global {
            Some(0)
        } else {
            (g != u32::MAX).then_some(g as usize)
        };
        let Some(rows) = slot.and_then(|s| windows.get_mut(s)) else {
            values.push(None);
            continue;
        };
        let push = |rows: &mut VecDeque<usize>| {
            rows.push_back(row);
            if rows.len() > window {
                rows.pop_front();
            }
        };
        if current {
            push(rows);
        }
        values.push(
            (g != u32::MAX)
                .then(|| {
                    let mut acc = Acc::default();
                    for &r in rows.iter().filter(|&&r| group_of_row[r] == g) {
                        acc.add(bound, r, numbers);
                    }
                    acc.value(bound)
                })
                .flatten(),
        );
        if !current {
            push(rows);
        }
    }
    values
}
