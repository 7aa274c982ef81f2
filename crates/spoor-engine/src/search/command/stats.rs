//! `stats`: the rows grouped by the by fields' codes, each aggregation over each group.

use spoor_spl::ast::Stats;

use crate::hash::FxHashMap;
use crate::search::SearchError;
use crate::search::aggregate::{Acc, Bound, Update, bind, numbers_of, seconds_column};
use crate::search::frame::{Col, Frame};
use crate::search::halves::in_halves;

pub(super) fn apply<'a>(frame: Frame<'a>, stats: &Stats) -> Result<Frame<'a>, SearchError> {
    let seconds = seconds_column(&frame, &stats.aggregations);
    let bound: Vec<Bound<'_, 'a>> = stats
        .aggregations
        .iter()
        .flat_map(|a| bind(&frame, seconds.as_ref(), a))
        .collect();
    let numbers: Vec<Vec<Option<f64>>> = bound.iter().map(numbers_of).collect();
    let by: Option<Vec<&Col<'a>>> = stats.by.iter().map(|f| frame.col(f.as_str())).collect();
    let (keys, group_of_row) = groups(&frame, &stats.by, by.as_deref());
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
    Ok(stats_output(
        stats,
        by.as_deref(),
        &keys,
        &bound,
        &accs,
        frame.window,
    ))
}

/// Each row's group by the codes of the `by` columns (`by_cols`: `None` when a by field is no
/// column): the groups' keys in the order they are first met, and each row's group
/// (`u32::MAX` for a row missing a by field). Without `by`, every row is in group 0.
pub(crate) fn groups(
    frame: &Frame<'_>,
    by_fields: &[spoor_spl::ast::Field],
    by: Option<&[&Col<'_>]>,
) -> (Vec<Vec<u32>>, Vec<u32>) {
    let mut keys: Vec<Vec<u32>> = Vec::new();
    let mut group_of_row: Vec<u32> = Vec::with_capacity(frame.len);
    match by.filter(|by| !by.is_empty()) {
        // A by field no row has: no group at all.
        None if !by_fields.is_empty() => group_of_row.resize(frame.len, u32::MAX),
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
    (keys, group_of_row)
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
