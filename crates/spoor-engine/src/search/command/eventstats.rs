//! `eventstats`: each row given its group's aggregates (over all the rows), rows unchanged.

use spoor_spl::ast::{Aggregation, Eventstats, Field};

use crate::search::SearchError;
use crate::search::aggregate::{Acc, Bound, Update, bind, numbers_of, seconds_column};
use crate::search::frame::{Col, Frame};

use super::stats::groups;

pub(super) fn apply<'a>(
    frame: Frame<'a>,
    eventstats: &Eventstats,
) -> Result<Frame<'a>, SearchError> {
    let cols = per_row(
        &frame,
        &eventstats.aggregations,
        &eventstats.by,
        |bound, numbers, group_of_row, groups| {
            let mut accs = vec![Acc::default(); groups];
            let rows = group_of_row
                .iter()
                .enumerate()
                .filter(|(_, g)| **g != u32::MAX)
                .map(|(row, g)| (row, *g as usize));
            Update::of(bound, numbers).run(rows, &mut accs);
            let values: Vec<Option<String>> = accs.iter().map(|acc| acc.value(bound)).collect();
            group_of_row
                .iter()
                .map(|&g| values.get(g as usize).cloned().flatten())
                .collect()
        },
    );
    Ok(add_columns(frame, cols))
}

/// The columns `aggregations` give each row of `frame`, by `by`: `values` makes one aggregation's
/// value for each row from its bound aggregation, each code read as a number, each row's group
/// (`u32::MAX`: none) and the number of groups.
pub(super) fn per_row(
    frame: &Frame<'_>,
    aggregations: &[Aggregation],
    by: &[Field],
    values: impl Fn(&Bound<'_, '_>, &[Option<f64>], &[u32], usize) -> Vec<Option<String>>,
) -> Vec<Col<'static>> {
    let seconds = seconds_column(frame, aggregations);
    let by_cols: Option<Vec<&Col<'_>>> = by.iter().map(|f| frame.col(f.as_str())).collect();
    let (keys, group_of_row) = groups(frame, by, by_cols.as_deref());
    aggregations
        .iter()
        .flat_map(|a| bind(frame, seconds.as_ref(), a))
        .map(|bound| {
            let numbers = numbers_of(&bound);
            Col::from_values(
                bound.name.clone(),
                values(&bound, &numbers, &group_of_row, keys.len()),
            )
        })
        .collect()
}

/// Puts `cols` in `frame`, each replacing a column of its name where it stands, or after the
/// others; a column no row has a value in is no column (it removes one of its name).
pub(super) fn add_columns<'a>(mut frame: Frame<'a>, cols: Vec<Col<'static>>) -> Frame<'a> {
    for col in cols {
        if col.codes.iter().any(|&code| code != 0) {
            frame.set(col);
        } else {
            frame.cols.retain(|c| c.name != col.name);
        }
    }
    frame
}
