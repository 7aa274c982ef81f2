//! `sort`: the rows in the order of the keys, stable, at most the limit of them.

use spoor_spl::ast::Sort;

use crate::search::SearchError;
use crate::search::frame::Frame;

/// Sort's default row limit, as Splunk's.
const SORT_DEFAULT_LIMIT: usize = 10_000;

pub(super) fn apply<'a>(frame: Frame<'a>, sort: &Sort) -> Result<Frame<'a>, SearchError> {
    let keys: Vec<(&str, bool)> = sort
        .keys
        .iter()
        .map(|k| (k.field.as_str(), k.descending))
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
