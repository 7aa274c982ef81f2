//! `where`: the rows whose fields equal (or differ from) the literals.

use spoor_spl::ast::{CompareOp, Condition, Where};

use crate::search::SearchError;
use crate::search::frame::Frame;

/// Whether `condition` holds of a row whose field has `value` (`None`: the row lacks it). The
/// search decides the `where`s that repeat its terms with it, once per distinct value.
pub(crate) fn holds(condition: &Condition, value: Option<&str>) -> bool {
    value.is_some_and(|value| match condition.op {
        CompareOp::Eq => value == condition.value,
        CompareOp::Ne => value != condition.value,
    })
}

/// The rows of which every condition [`holds`], decided by code: the literal's code in
/// the column's dictionary.
pub(super) fn apply<'a>(frame: Frame<'a>, w: &Where) -> Result<Frame<'a>, SearchError> {
    let mut rows: Vec<usize> = (0..frame.len).collect();
    for condition in &w.conditions {
        let Some(col) = frame.col(condition.field.as_str()) else {
            rows.clear();
            break;
        };
        let target = col.dict.find(&condition.value);
        rows.retain(|&r| {
            let code = col.codes[r];
            match condition.op {
                CompareOp::Eq => code != 0 && Some(code) == target,
                CompareOp::Ne => code != 0 && Some(code) != target,
            }
        });
    }
    Ok(if rows.len() == frame.len {
        frame
    } else {
        frame.select(&rows)
    })
}
