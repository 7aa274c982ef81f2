//! `sort`: the rows in the order of the keys, stable, at most the limit of them.

use spoor_spl::ast::Sort;

use crate::search::SearchError;
use crate::search::frame::{Col, Frame};

/// Sort's default row limit, as Splunk's.
const SORT_DEFAULT_LIMIT: usize = 10_000;

pub(super) fn apply<'a>(frame: Frame<'a>, sort: &Sort) -> Result<Frame<'a>, SearchError> {
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
    Ok(frame.select(&order))
}
